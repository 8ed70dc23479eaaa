"""Name grammars that several layers check: the config when it is read, the registry when it parses tags.

These are GTO's own patterns (gto 1.10, `gto/constants.py`), so both tools accept the
same names. Kept free of any import, so `gitml models` (which parses every tag) stays fast.
"""

from __future__ import annotations

#: GTO's artifact and stage names.
NAME_PATTERN = r"[a-zA-Z0-9](?:[a-zA-Z0-9_/-]*[a-zA-Z0-9])?"
#: A monorepo artifact `path/to/dir:name` (the folder holding its dvc.yaml); in a tag, `:` is written `=`.
FULLNAME_PATTERN = rf"(?:[a-zA-Z0-9_./-]+:)?{NAME_PATTERN}"
FULLNAME_IN_TAG_PATTERN = rf"(?:[a-zA-Z0-9_./-]+=)?{NAME_PATTERN}"
#: Semantic versions with GTO's `v` prefix, pre-releases and build metadata included (semver.org's grammar).
_NUMBER = r"(?:0|[1-9]\d*)"
_PRE = rf"(?:{_NUMBER}|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
VERSION_PATTERN = (rf"v{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:-{_PRE}(?:\.{_PRE})*)?"
                   r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?")


def in_tag(artifact: str) -> str:
    """How GTO writes an artifact name inside a tag (`dir:name` becomes `dir=name`)."""
    return artifact.replace(":", "=")


def from_tag(artifact: str) -> str:
    return artifact.replace("=", ":")
