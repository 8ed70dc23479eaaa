"""`python -m gitml` runs the CLI, so DVC stages need only the interpreter on PATH."""

from gitml.cli.main import main

raise SystemExit(main())
