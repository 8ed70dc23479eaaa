"""Errors gitml raises: each names the key, column or file at fault, so the CLI can print one line."""

from __future__ import annotations


class GitmlError(Exception):
    """Base of every error gitml reports to the user as one line."""

    exit_code = 1


class ConfigError(GitmlError):
    """params.yaml or conf/ is invalid: names the key path."""


class DataError(GitmlError):
    """A data file is missing, empty or unreadable: names the file."""


class DataContractError(GitmlError):
    """Data violates its declared contract: names the columns."""


class ModelFileError(GitmlError):
    """A model file is missing or not a readable skops archive."""


class UntrustedModelError(ModelFileError):
    """A model file contains types outside the reviewed allow-list."""


class RequestError(GitmlError):
    """A prediction request breaks the protocol or the model's signature: names the column or key.

    `status` is the HTTP status it is answered with (always 4xx).
    """

    def __init__(self, message: str, status: int = 422, code: str = "INVALID_PARAMETER_VALUE") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ComputeError(GitmlError):
    """The configured compute backend cannot be used (e.g. an unreachable Dask scheduler): names the address."""


class TuneError(GitmlError):
    """A search could not produce a result (e.g. every trial failed): names the model family."""


class GateError(GitmlError):
    """The gate could not evaluate (bad policy, missing baseline, stale workspace): names what and where."""

    exit_code = 2


class GateFailed(GitmlError):
    """The gate evaluated and the candidate failed its promotion policy: names the failing metrics."""

    exit_code = 1
