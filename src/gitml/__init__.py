"""gitml: a declarative GitOps framework for the whole machine-learning lifecycle."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gitml")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
