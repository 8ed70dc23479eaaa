"""One router per resource: predictions, probes (health, readiness, version, metrics), admin."""
