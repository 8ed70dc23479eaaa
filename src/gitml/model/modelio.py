"""Save and load fitted scikit-learn models as skops archives.

Two reasons this module exists instead of calling skops directly:

* Deterministic bytes. A plain ``skops.io.dump`` is not byte-reproducible: zip
  entry timestamps are the wall clock, and the ``__id__`` values in
  ``schema.json`` and the ``.npy`` member names come from ``id()``. The same
  model would then get a new hash in ``dvc.lock`` on every ``dvc repro``.
  :func:`save_model` renumbers ids and member names in one document-order walk
  of ``schema.json`` and rewrites the zip with fixed timestamps and a fixed
  member order, so equal models give equal bytes.
* Safe loading. skops never unpickles, but it will still build any type a file
  names if the caller trusts it. :func:`load_model` only loads files whose
  non-default types are all in a reviewed allow-list, and never trusts a whole
  file blindly.

skops (and through it scikit-learn) is imported inside the functions: importing
``skops.io`` takes about 1.5 s, which commands that never touch a model should
not pay.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gitml.core.errors import ModelFileError, UntrustedModelError
from gitml.core.io import atomic_path
from gitml.core.text import cut, one_line, quoted

__all__ = ["DEFAULT_TRUSTED", "MODEL_FILE", "SIGNATURE_FILE", "VERSION_FILE", "load_model", "save_model"]

#: A model directory: what `gitml get` writes and `gitml serve` loads.
MODEL_FILE, SIGNATURE_FILE, VERSION_FILE = "model.skops", "signature.json", "version.json"

# Types skops 0.16 reports as untrusted for gitml's pipelines; each was reviewed as inert data or a pure function.
DEFAULT_TRUSTED: frozenset[str] = frozenset(
    {
        "functools.partial",
        # gitml's own transformers (gitml.features.transforms): numbers, strings and arrays only;
        # DerivedColumns keeps expression text, parsed into a whitelisted AST, never eval'd.
        "gitml.features.transforms.Bucketize",
        "gitml.features.transforms.Clip",
        "gitml.features.transforms.DerivedColumns",
        "gitml.features.transforms.Log",
        "numpy.clip",
        "numpy.dtype",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.tree._tree.Tree",
        "sklearn.utils.validation.check_array",
    }
)

_SCHEMA = "schema.json"
# The earliest date a zip entry can hold; any fixed value makes the bytes reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_MEMBER_ATTR = (stat.S_IFREG | 0o644) << 16
_UNIX = 3
_COMPRESS_LEVEL = 6
_NEW_FILE_MODE = 0o644
_MAX_DETAIL = 300


def save_model(model: Any, path: str | Path) -> None:
    """Write ``model`` to ``path`` as a byte-reproducible skops archive.

    The write is atomic: the archive is built in a temporary file next to
    ``path`` and moved into place with :func:`os.replace`. If anything fails,
    the temporary file is removed and an existing file at ``path`` is left
    untouched. Missing parent folders are created. An existing file keeps its
    permission bits; a new one gets ``0o644``.
    """
    import skops.io as sio

    # skops builds the whole archive in memory anyway; store it uncompressed
    # here so the members are deflated once, when the archive is normalised.
    raw = sio.dumps(model, compression=zipfile.ZIP_STORED)
    with atomic_path(path, durable=True) as tmp, open(tmp, "wb") as out:
        _normalise(io.BytesIO(raw), out)


def load_model(path: str | Path, trusted: Iterable[str] = DEFAULT_TRUSTED) -> object:
    """Load a model saved by :func:`save_model`, refusing types outside ``trusted``.

    ``trusted`` lists fully qualified type names allowed on top of the types
    skops already trusts. Raises :class:`UntrustedModelError` naming the file
    and the offending types, or :class:`ModelFileError` if the file is missing
    or is not a readable skops archive.
    """
    if isinstance(trusted, (str, bool)):
        raise TypeError("trusted must be an iterable of type names, not a single str or bool")
    allowed = frozenset(trusted)
    path = Path(path)
    if not path.exists():
        raise ModelFileError(one_line(f"model file not found: {path}"))
    if not path.is_file():
        raise ModelFileError(one_line(f"model file is not a regular file: {path}"))

    import skops.io as sio

    try:
        found = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise ModelFileError(_unreadable(path, exc)) from exc

    refused = sorted(set(found) - allowed)
    if refused:
        raise UntrustedModelError(one_line(f"model file {path} contains untrusted types: {', '.join(refused)}"))
    try:
        # Only the types found above, all of them in the allow-list: skops
        # re-audits while loading, so a file swapped in meanwhile still fails.
        return sio.load(path, trusted=sorted(found))
    except Exception as exc:
        raise ModelFileError(_unreadable(path, exc)) from exc


def _normalise(src: io.BytesIO, out: Any) -> None:
    """Copy the skops archive ``src`` to ``out`` with deterministic ids, names and zip metadata."""
    with zipfile.ZipFile(src) as zin:
        names = zin.namelist()
        if len(names) != len(set(names)) or _SCHEMA not in names:
            raise ValueError("skops archive has duplicate members or no schema.json")
        schema = json.loads(zin.read(_SCHEMA))
        renamed = _renumber(schema)
        members = set(names) - {_SCHEMA}
        if members != set(renamed):
            raise ValueError(
                "skops archive members do not match the files schema.json refers to: "
                f"unreferenced {sorted(members - set(renamed))}, "
                f"missing {sorted(set(renamed) - members)}"
            )
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zout:
            # Members in the order the walk first met them, schema.json last as skops does.
            for old, new in renamed.items():
                zout.writestr(_member(new), zin.read(old), compresslevel=_COMPRESS_LEVEL)
            schema_text = json.dumps(schema, indent=2)
            zout.writestr(_member(_SCHEMA), schema_text, compresslevel=_COMPRESS_LEVEL)


def _renumber(schema: dict[str, Any]) -> dict[str, str]:
    """Renumber ``__id__`` and ``file`` of every node in place; return old -> new member names.

    One depth-first walk in document order. Equal old ids map to equal new ids
    (skops uses a repeated ``__id__`` to share one object between references),
    so the mapping keeps every reference consistent. Ids start at 1 because
    skops does not memoise a node whose id is falsy.
    """
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
            return
        if not isinstance(value, dict):
            return
        if isinstance(value.get("__loader__"), str):
            if "__id__" in value:
                old_id = value["__id__"]
                if isinstance(old_id, bool) or not isinstance(old_id, int):
                    raise ValueError(f"skops node has a non-integer __id__: {quoted(old_id)}")
                value["__id__"] = ids.setdefault(old_id, len(ids) + 1)
            if "file" in value:
                old_file = value["file"]
                if not isinstance(old_file, str):
                    raise ValueError(f"skops node has a non-string file: {quoted(old_file)}")
                suffix = Path(old_file).suffix
                value["file"] = files.setdefault(old_file, f"{len(files)}{suffix}")
        for child in value.values():
            walk(child)

    walk(schema)
    return files


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = _UNIX
    info.external_attr = _MEMBER_ATTR
    return info


def _unreadable(path: Path, exc: BaseException) -> str:
    detail = str(exc) or type(exc).__name__
    detail = cut(detail, _MAX_DETAIL)
    return one_line(f"model file {path} is not a readable skops archive: {type(exc).__name__}: {detail}")

