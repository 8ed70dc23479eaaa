"""Every git process gitml starts: commits, refs, files at a commit, tags, shallow fetches.

One `run` starts git; a failure is a GitError naming the command and git's own reason
(its last `fatal:`/`error:` line), so a caller prints one line instead of a traceback.
A shallow CI clone lacks most history: `ensure_commit` fetches a single missing commit
from the remote, and `merge_base` deepens the clone until the merge base appears.

A ref, branch or remote that comes from a person (`--baseline`, `--push`, `--branch`,
config) is validated here before git sees it, and passed after `--end-of-options`:
`--upload-pack=...` as a "ref" would otherwise be an option that runs a command.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from gitml.core.errors import GitError
from gitml.core.text import quoted

log = logging.getLogger(__name__)

#: Field and record separators of formatted output (no commit subject or ref name holds them).
_SEP, _END = "\x1f", "\x1e"


def _start(repo: str | Path, args: tuple[str, ...], stdin: bytes | None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True)
    except FileNotFoundError as exc:
        raise GitError("git: not found on PATH (install git)") from exc


def _reason(stderr: bytes, returncode: int) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (fatal or lines or [f"exit {returncode}"])[-1]


def run(repo: str | Path, *args: str, stdin: str | None = None) -> str:
    """stdout of `git ARGS` in `repo`, or a GitError with git's reason."""
    result = _start(repo, args, stdin.encode() if stdin is not None else None)
    if result.returncode:
        raise GitError(f"`git {' '.join(args)}` failed: {_reason(result.stderr, result.returncode)}")
    return result.stdout.decode("utf-8", "replace")


def succeeds(repo: str | Path, *args: str) -> bool:
    """Whether `git ARGS` exits 0 (for questions git answers with its exit code)."""
    return _start(repo, args, None).returncode == 0


def _not_an_option(value: str) -> str:
    if not value or value.startswith("-"):
        why = "it is empty" if not value else "it starts with '-', which git would read as an option"
        raise GitError(f"{quoted(value)}: not a ref or name git can take ({why})")
    return value


def branch_name(repo: str | Path, name: str) -> str:
    """`name` if git accepts it as a branch name (`git check-ref-format --branch`), else a GitError."""
    if not succeeds(repo, "check-ref-format", "--branch", _not_an_option(name)):
        raise GitError(f"{quoted(name)}: not a valid git branch name (git check-ref-format --branch)")
    return name


def checked_remote(repo: str | Path, name: str) -> str:
    """`name` if it is a remote configured here (never an option, a URL or a path), else a GitError."""
    remotes = run(repo, "remote").split()
    if _not_an_option(name) not in remotes:
        raise GitError(f"{quoted(name)}: no such git remote here (remotes: {', '.join(remotes) or 'none'})")
    return name


def commit_of(repo: str | Path, ref: str) -> str | None:
    """The commit `ref` names, or None when it names nothing (here)."""
    result = _start(repo, ("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"), None)
    return (result.stdout.decode().strip() or None) if result.returncode == 0 else None


def head(repo: str | Path) -> str:
    found = commit_of(repo, "HEAD")
    if found is None:
        raise GitError(f"{Path(repo).resolve()}: not a git repository with a commit (HEAD)")
    return found


def branch(repo: str | Path) -> str | None:
    """The checked-out branch, or None when HEAD is detached."""
    name = run(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    return None if name == "HEAD" else name


def is_shallow(repo: str | Path) -> bool:
    return run(repo, "rev-parse", "--is-shallow-repository").strip() == "true"


def has_remote(repo: str | Path, remote: str) -> bool:
    return remote in run(repo, "remote").split()


def remote_branch_exists(repo: str | Path, remote: str, name: str) -> bool:
    if not has_remote(repo, remote):
        return False
    name = branch_name(repo, name)
    return bool(run(repo, "ls-remote", "--heads", "--end-of-options", remote, name).strip())


def _object_name(ref: str) -> bool:
    return 4 <= len(ref) <= 64 and all(c in "0123456789abcdef" for c in ref.lower())


def ensure_commit(repo: str | Path, ref: str, remote: str) -> str:
    """The commit of `ref`, fetching just that commit (depth 1) from `remote` when it is not here."""
    found = commit_of(repo, _not_an_option(ref))
    if found:
        return found
    if not has_remote(repo, remote):
        raise GitError(f"{quoted(ref)}: no such commit or ref here, and no remote {quoted(remote)} to fetch it from")
    if not _object_name(ref) and not succeeds(repo, "check-ref-format", "--allow-onelevel", ref):
        raise GitError(f"{quoted(ref)}: no such commit or ref here, and not a ref name to fetch from {remote}")
    log.info("fetching %s from %s", ref, remote)
    result = _start(repo, ("fetch", "--quiet", "--no-tags", "--depth=1", "--end-of-options", remote, ref), None)
    if result.returncode:
        reason = _reason(result.stderr, result.returncode)
        raise GitError(f"{quoted(ref)}: not found here, and `git fetch --depth=1 {remote} {ref}` failed: {reason}")
    fetched = commit_of(repo, "FETCH_HEAD")
    if fetched is None:
        raise GitError(f"{quoted(ref)}: git fetch returned no commit")
    return fetched


def fetch_branch(repo: str | Path, remote: str, name: str) -> bool:
    """Fetch branch `name` into `remote/name` (a CI checkout may have only the pull request's ref)."""
    if not has_remote(repo, remote):
        return False
    refspec = f"+refs/heads/{branch_name(repo, name)}:refs/remotes/{remote}/{name}"
    _start(repo, ("fetch", "--quiet", "--no-tags", "--end-of-options", remote, refspec), None)
    return commit_of(repo, f"{remote}/{name}") is not None


def fetch_tags(repo: str | Path, remote: str, patterns: list[str]) -> None:
    """In a shallow clone, fetch the tags matching `patterns` (a registry's), each with its commit only."""
    if is_shallow(repo) and has_remote(repo, remote):
        refspecs = [f"+refs/tags/{pattern}:refs/tags/{pattern}" for pattern in patterns]
        result = _start(repo, ("fetch", "--quiet", "--depth=1", "--end-of-options", remote, *refspecs), None)
        if result.returncode:
            log.warning("could not fetch registry tags from %s: %s", remote, _reason(result.stderr, 1))


def merge_base(repo: str | Path, ref: str, remote: str) -> str:
    """The merge base of HEAD and `ref`; in a shallow clone, deepen until it appears (then unshallow)."""
    for deepen in (None, "--deepen=64", "--deepen=1024", "--unshallow"):
        if deepen:
            if not (is_shallow(repo) and has_remote(repo, remote)):
                break
            log.info("shallow clone: git fetch %s %s", deepen, remote)
            _start(repo, ("fetch", "--quiet", "--no-tags", deepen, "--end-of-options", remote), None)
        result = _start(repo, ("merge-base", "--end-of-options", "HEAD", ref), None)
        if result.returncode == 0:
            return result.stdout.decode().strip()
    hint = " (a shallow clone: check out with full history, fetch-depth: 0)" if is_shallow(repo) else ""
    raise GitError(f"no merge base of HEAD and {ref}{hint}")


def refs(repo: str | Path, *patterns: str) -> dict[str, str]:
    """{full ref name: commit} of the refs matching `patterns` (branches, remotes, DVC experiments)."""
    out = run(repo, "for-each-ref", "--format=%(refname)%00%(objectname)", *patterns)
    return dict(line.split("\0", 1) for line in out.splitlines() if "\0" in line)


def commits(repo: str | Path, revs: Iterable[str], fields: Sequence[str], *options: str) -> list[list[str]]:
    """The `git log` format `fields` (e.g. `%H`, `%P`) of every commit reachable from `revs`, newest first.

    Revisions go through stdin, so thousands of experiment refs make one process.
    """
    revs = list(revs)
    if not revs:
        return []
    out = run(repo, "log", f"--format={_SEP.join(fields)}{_END}", *options, "--stdin", stdin="\n".join(revs) + "\n")
    return [record.lstrip("\n").split(_SEP) for record in out.split(_END) if record.strip("\n")]


def changed_files(repo: str | Path, ignore: Iterable[str] = ()) -> list[str]:
    """Tracked files that differ from HEAD (staged or not), except those under `ignore`."""
    excludes = [f":(exclude){path}" for path in ignore]
    out = run(repo, "status", "--porcelain", "--untracked-files=no", "--", ".", *excludes)
    return [line[3:].split(" -> ")[-1] for line in out.splitlines() if line.strip()]


def read_files(repo: str | Path, commit: str, paths: Iterable[str]) -> dict[str, bytes | None]:
    """The bytes of each path at `commit` (None where git does not track it), in one `git cat-file` call."""
    found = read_objects(repo, [f"{commit}:{path}" for path in dict.fromkeys(paths)])
    return {spec.split(":", 1)[1]: entry[1] if entry else None for spec, entry in found.items()}


def read_objects(repo: str | Path, specs: Iterable[str]) -> dict[str, tuple[str, bytes] | None]:
    """(object id, bytes) of each `REV:PATH` blob, None where there is none, in one `git cat-file --batch` call.

    Many commits' files in one process: the site reads every commit's params and metrics this way,
    and the object id lets a caller parse a file that many commits share only once.
    """
    specs = list(dict.fromkeys(specs))
    if not specs:
        return {}
    out, found, pos = _cat_file(repo, "--batch", specs), {}, 0
    for spec in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[spec] = (header[0].decode(), out[pos:pos + size])
            pos += size + 1
        else:  # "<object> missing", or a tree/submodule: not a file git tracks
            if len(header) == 3:
                pos += int(header[2]) + 1
            found[spec] = None
    return found


def object_sizes(repo: str | Path, specs: Iterable[str]) -> dict[str, tuple[str, int] | None]:
    """(object id, size) of each `REV:PATH` blob, None where there is none, in one `git cat-file --batch-check`.

    Lets a caller skip files too large to read for every commit before reading any.
    """
    specs = list(dict.fromkeys(specs))
    if not specs:
        return {}
    found: dict[str, tuple[str, int] | None] = {}
    for spec, line in zip(specs, _cat_file(repo, "--batch-check", specs).decode().splitlines(), strict=True):
        parts = line.split()
        found[spec] = (parts[0], int(parts[2])) if len(parts) == 3 and parts[1] == "blob" else None
    return found


def _cat_file(repo: str | Path, mode: str, specs: list[str]) -> bytes:
    result = _start(repo, ("cat-file", mode), "".join(f"{spec}\n" for spec in specs).encode())
    if result.returncode:
        raise GitError(f"`git cat-file {mode}` failed: {_reason(result.stderr, result.returncode)}")
    return result.stdout
