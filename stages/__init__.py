"""DVC stage entry points: each is one call into the gitml library, which does the work and writes the outputs."""
