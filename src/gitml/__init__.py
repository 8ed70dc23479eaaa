"""gitml: a declarative GitOps framework for the whole machine-learning lifecycle."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # Resolved on first use: importlib.metadata costs ~50 ms that `gitml models` should not pay.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("gitml")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0.0.0"
    raise AttributeError(f"module 'gitml' has no attribute {name!r}")
