"""Every error gitml reports to a person, and every exit code, in one place.

Each error names what is at fault (a key path, a column, a file, a ref) in one line, so
the CLI prints `error: <message>` and exits with the error's code; nothing else sets an
exit code. The tree, so a caller knows what to catch:

    GitmlError                      exit 1 unless noted
    ├── ConfigError                 params.yaml or conf/: names the key path
    │   └── ExpressionError         a derived-feature expression (also a ValueError, for scikit-learn)
    ├── DataError                   a data file is missing, empty or unreadable: names the file
    │   └── DataContractError       data breaks its declared contract: names the columns
    ├── ModelFileError              a model file is missing or unreadable
    │   └── UntrustedModelError     a model file holds types outside the reviewed allow-list
    ├── RequestError                a prediction request is refused: carries its HTTP status (4xx)
    ├── VcsError                    a git, dvc or gh process failed: names the command
    │   ├── GitError
    │   ├── DvcError
    │   └── GitHubError
    ├── SnapshotError               a file cannot be read at a commit: names the file and commit
    ├── RegistryError               a registry read or write was refused: names the artifact or tag
    ├── ComputeError                the compute backend cannot be used: names the address
    ├── TuneError                   a search produced no result: names the model family
    ├── RetrainError                a retraining step failed: names the step
    ├── HostError                   the machine refused: a full disk, a read-only folder: names the file
    ├── GateError                   exit 2: the gate could not reach a verdict
    └── GateFailed                  exit 1: the gate's verdict is fail
"""

from __future__ import annotations

import errno

#: Exit codes. A verdict command (gate, monitor) exits FAILED for a negative verdict (the
#: candidate fails, drift is found) and NOT_EVALUATED when it could not reach one, so a
#: crash never reads as a verdict. Every other command exits FAILED on any error.
OK, FAILED, NOT_EVALUATED = 0, 1, 2
#: Ctrl-C, and a reader that closed the pipe (`gitml ... | head`), as shells report a
#: process ended by SIGINT or SIGPIPE.
INTERRUPTED, CLOSED_PIPE = 130, 141


class GitmlError(Exception):
    """Base of every error gitml reports to the user as one line."""

    exit_code = FAILED


class ConfigError(GitmlError):
    """params.yaml or conf/ is invalid: names the key path."""


class ExpressionError(ConfigError, ValueError):
    """An expression does not parse or uses something outside the whitelist.

    Also a ValueError: a transformer that meets one in `fit` fails as scikit-learn expects.
    """


class DataError(GitmlError):
    """A data file is missing, empty or unreadable: names the file."""


class DataContractError(DataError):
    """Data violates its declared contract: names the columns."""


class ModelFileError(GitmlError):
    """A model file is missing or not a readable skops archive."""


class UntrustedModelError(ModelFileError):
    """A model file contains types outside the reviewed allow-list."""


class RequestError(GitmlError):
    """A prediction request breaks the protocol or the model's signature: names the column or key.

    `status` is the HTTP status it is answered with (always 4xx) and `code` the MLflow-style
    error code of the body.
    """

    def __init__(self, message: str, status: int = 400, code: str = "INVALID_PARAMETER_VALUE") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class VcsError(GitmlError):
    """A git, dvc or gh process failed or is missing: names the command and its last line of output."""


class GitError(VcsError):
    """A git command failed."""


class DvcError(VcsError):
    """A dvc command (or DVC's library) failed."""


class GitHubError(VcsError):
    """A `gh` call failed: names the command and what GitHub answered."""


class SnapshotError(GitmlError):
    """A file cannot be read at a commit: names the file and the commit."""


class RegistryError(GitmlError):
    """A registry read or write failed: names the artifact, version or stage."""


class ComputeError(GitmlError):
    """The configured compute backend cannot be used (e.g. an unreachable Dask scheduler): names the address."""


class TuneError(GitmlError):
    """A search could not produce a result (e.g. every trial failed): names the model family."""


class RetrainError(GitmlError):
    """A retraining step failed: names the step and what it said."""


class HostError(GitmlError):
    """The machine refused a read or write (a full disk, a read-only or forbidden folder): names the file.

    Built from the OSError at the CLI, so no stage has to catch what any write can meet.
    """

    _WHAT = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
             errno.EFBIG: "file size limit reached", errno.EROFS: "read-only file system",
             errno.EACCES: "permission denied", errno.EPERM: "operation not permitted"}

    @classmethod
    def of(cls, exc: OSError) -> HostError:
        what = cls._WHAT.get(exc.errno or 0) or exc.strerror or type(exc).__name__
        files = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
        return cls(f"{what}: {' -> '.join(files)}" if files else f"{what} (writing a file or stream)")


class GateError(GitmlError):
    """The gate could not evaluate (bad policy, missing baseline, stale workspace): names what and where."""

    exit_code = NOT_EVALUATED


class GateFailed(GitmlError):
    """The gate evaluated and the candidate failed its promotion policy: names the failing metrics."""

    exit_code = FAILED
