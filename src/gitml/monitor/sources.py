"""The two sides of a comparison: tables read in record batches, and where the reference comes from.

Parquet files and folders are scanned with pyarrow.dataset, a few columns and one
record batch at a time, so memory follows the columns being compared rather than the
whole table. CSV cells in `gitml.core.io.CSV_MISSING` (the empty cell among them) are
nulls, so a CSV file reads as the same rows as Parquet. The reference is the training data
of the model in `prod` (read at that commit from the DVC cache or remote), else the local
`paths.train`, with its signature, test predictions, metrics and permutation importance;
column roles come from the model's signature or the data contract, never from dtypes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitml.config import Params
from gitml.core import io
from gitml.core.errors import DataError, GitmlError
from gitml.core.text import reason
from gitml.data import sources as data_sources
from gitml.model import outputs

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

log = logging.getLogger(__name__)

_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


class Table:
    """A CSV/Parquet file or folder, local or at an fsspec URL (s3://...), read column subsets at a time."""

    def __init__(self, path: str | Path, batch_rows: int = 65536) -> None:
        import pyarrow.dataset as ds

        if io.is_url(path):
            files, fmt, filesystem = _remote_files(str(path))
        else:
            (files, fmt), filesystem = _files(Path(path)), None
        if fmt == "csv":
            # CSV has no schema of its own: parse once, with one schema for all files.
            dataset = ds.dataset(_read_csv(files, filesystem))
        else:
            dataset = ds.dataset([str(f) for f in files], format="parquet", schema=_parquet_schema(files, filesystem),
                                 filesystem=filesystem)
        self._open(dataset, str(path) if io.is_url(path) else Path(path), batch_rows)

    @classmethod
    def from_arrow(cls, table: pa.Table, name: str = "<memory>", batch_rows: int = 65536) -> Table:
        """A table already in memory (a library caller's data, or a benchmark's split), named `name`."""
        import pyarrow.dataset as ds

        self = cls.__new__(cls)
        self._open(ds.dataset(table), Path(name), batch_rows)
        return self

    def _open(self, dataset: ds.Dataset, path: str | Path, batch_rows: int) -> None:
        import pyarrow as pa

        self.path, self.batch_rows, self._dataset = path, batch_rows, dataset
        self.schema: pa.Schema = dataset.schema
        try:
            self.rows: int = dataset.count_rows()
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{self.path}: cannot be read: {reason(exc)}") from exc

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def family(self, name: str) -> str:
        """The kind of values a column holds: numeric, bool, string, temporal, null or other."""
        return type_family(self.schema.field(name).type)

    def batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        try:
            yield from self._dataset.to_batches(columns=columns, batch_size=self.batch_rows)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{self.path}: cannot be read: {reason(exc)}") from exc


def type_family(arrow_type: pa.DataType) -> str:
    import pyarrow.types as t

    if t.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if t.is_null(arrow_type):
        return "null"
    if t.is_boolean(arrow_type):
        return "bool"
    if t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_decimal(arrow_type):
        return "numeric"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_string_view(arrow_type):
        return "string"
    if t.is_temporal(arrow_type):
        return "temporal"
    return "other"


def _files(path: Path) -> tuple[list[Path], str]:
    if path.is_file():
        candidates = [path]
    elif path.is_dir():
        candidates = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES
                            and not _hidden(p.relative_to(path).as_posix()))
        if not candidates:
            raise DataError(f"{path}: folder has no CSV or Parquet files")
    else:
        raise DataError(f"{path}: data file or folder not found")
    formats = {_SUFFIXES.get(p.suffix.lower(), "parquet") for p in candidates}
    if len(formats) > 1:
        raise DataError(f"{path}: mixes CSV and Parquet files; keep one format per folder")
    fmt = formats.pop()
    for candidate in candidates:
        if candidate.stat().st_size == 0:
            raise DataError(f"{candidate}: data file is empty")
        io.check_columns(candidate, fmt)
    return candidates, fmt


def _hidden(relative: str) -> bool:
    # Hidden files are files being written (the prediction log renames them into place).
    return any(part.startswith(".") for part in relative.split("/"))


def _remote_files(url: str) -> tuple[list[str], str, Any]:
    """The data files under an fsspec URL, their format, and a pyarrow filesystem reading them."""
    from pyarrow import fs as pafs

    store, root = io.filesystem(url)
    try:
        if store.isfile(root):
            infos = {root: store.info(root)}
        elif store.isdir(root):
            infos = {path: info for path, info in store.find(root, detail=True).items()
                     if Path(path).suffix.lower() in _SUFFIXES and not _hidden(path[len(root):].strip("/"))}
            if not infos:
                raise DataError(f"{url}: folder has no CSV or Parquet files")
        else:
            raise DataError(f"{url}: data file or folder not found")
    except DataError:
        raise
    except Exception as exc:  # the store's client raises its own types (botocore, google, OSError, ...)
        raise DataError(f"{url}: cannot be read: {reason(exc)}") from exc
    files = sorted(infos)
    formats = {_SUFFIXES.get(Path(f).suffix.lower(), "parquet") for f in files}
    if len(formats) > 1:
        raise DataError(f"{url}: mixes CSV and Parquet files; keep one format per folder")
    for file in files:
        if not infos[file].get("size"):
            raise DataError(f"{store.unstrip_protocol(file)}: data file is empty")
    return files, formats.pop(), pafs.PyFileSystem(pafs.FSSpecHandler(store))


def _read_each(files: list[Path], read: Callable[[Path], Any], fmt: str) -> list[Any]:
    import pyarrow as pa

    results = []
    for path in files:
        try:
            results.append(read(path))
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: cannot be read as {fmt}: {reason(exc)}") from exc
    return results


def _parquet_schema(files: list[Path], filesystem: Any = None) -> pa.Schema:
    """One schema for all files, so a column added to later log files is still seen."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def read(path: Path) -> pa.Schema:
        return pq.read_schema(path, filesystem=filesystem)

    try:
        return pa.unify_schemas(_read_each(files, read, "parquet"), promote_options="permissive")
    except (pa.ArrowException, TypeError) as exc:
        raise DataError(f"{files[0].parent}: files disagree on column types: {exc}") from exc


def _read_csv(files: list[Path], filesystem: Any = None) -> pa.Table:
    """The CSV files as one table; missing cells (`gitml.core.io.CSV_MISSING`) are nulls, as in Parquet."""
    import pyarrow as pa
    from pyarrow import csv

    options = csv.ConvertOptions(null_values=sorted(io.CSV_MISSING), strings_can_be_null=True)

    def read(path: Path) -> pa.Table:
        if filesystem is None:
            return csv.read_csv(path, convert_options=options)
        with filesystem.open_input_stream(str(path)) as stream:
            return csv.read_csv(stream, convert_options=options)

    try:
        return pa.concat_tables(_read_each(files, read, "csv"), promote_options="permissive")
    except pa.ArrowException as exc:
        raise DataError(f"{files[0].parent}: CSV files disagree on column types: {exc}") from exc


@dataclass
class Reference:
    """The reference side: the data, the model's signature and what evaluation measured."""

    table: Table
    signature: dict[str, Any]
    origin: dict[str, Any]
    predictions: Table | None = None
    metrics: dict[str, float] | None = None
    #: Mean permutation importance per input column (the evaluate stage's), and where it was read.
    importance: dict[str, float] | None = None
    importance_source: str | None = None


def signature_from_contract(params: Params) -> dict[str, Any]:
    """The model's input schema when no signature file exists yet: the data contract's columns."""
    contract = data_sources.contract(params.data)
    target = params.data.target
    inputs = [
        {"name": name, **spec.model_dump(exclude_none=True)}
        for name, spec in contract.columns.items()
        if name != target and name not in params.features.drop
    ]
    return {"task": params.data.task, "target": target, "inputs": inputs}


def _optional_table(path: str | Path, batch_rows: int) -> Table | None:
    return Table(path, batch_rows) if Path(path).exists() else None


def local_reference(params: Params, path: str, origin: str) -> Reference:
    """A reference read from the working tree: `path`, the local signature, predictions, metrics and importance."""
    paths, batch = params.paths, params.monitor.read.batch_rows
    signature = io.read_json_if_exists(paths.signature) or signature_from_contract(params)
    importance = io.read_json_if_exists(paths.importance)
    return Reference(
        table=Table(path, batch),
        signature=signature,
        origin={"source": origin, "path": str(path)},
        predictions=_optional_table(paths.predictions, batch),
        metrics=io.read_json_if_exists(paths.metrics),
        importance=None if importance is None else outputs.parse_importance(importance, paths.importance),
        importance_source=paths.importance,
    )


def resolve_reference(params: Params, repo: str | Path = ".") -> Reference:
    """`monitor.reference`: a path, or `auto` = the model in prod, else the local training features."""
    chosen = params.monitor.reference
    if chosen != "auto":
        return local_reference(params, chosen, "file")
    from gitml.registry import tags

    try:
        prod = tags.in_stage(params.registry.artifact, "prod", repo)
    except GitmlError as exc:  # not a git repository, or git failed: no registry to read
        log.info("no model registry here (%s); using %s", exc, params.paths.train)
        prod = None
    if prod is None:
        return local_reference(params, params.paths.train, "train")
    return prod_reference(params, prod.version, prod.commit, repo)


def prod_reference(params: Params, version: str, commit: str, repo: str | Path = ".") -> Reference:
    """The training features, signature, test predictions, metrics and importance at the prod model's commit.

    DVC-tracked files are read in place from the DVC cache (fetched from the remote, or
    reproduced at that commit, if missing), with the paths that commit's own params.yaml declared.
    """
    from gitml.vcs import snapshot

    lock = snapshot.read_yaml(repo, commit, "dvc.lock")
    declared = (snapshot.read_yaml(repo, commit, "params.yaml") or {}).get("paths") or {}

    def path(key: str) -> str:
        return declared.get(key) or getattr(params.paths, key)

    def small_json(key: str) -> Any:
        raw = snapshot.read_any(repo, commit, path(key), lock)
        return None if raw is None else _parse_json(raw, f"{path(key)} at {commit[:12]}")

    batch = params.monitor.read.batch_rows
    found = snapshot.dvc_outputs(repo, commit, [path("train"), path("predictions")], lock, reproduce=True)
    train, predictions = (found[path(key)] for key in ("train", "predictions"))
    if train is None:
        raise DataError(f"{path('train')}: DVC does not track it at the prod model's commit {commit[:12]}")
    importance = small_json("importance")
    where = f"{path('importance')} at {commit[:12]}"
    return Reference(
        table=Table(train.file, batch),
        signature=small_json("signature") or signature_from_contract(params),
        origin={"source": "prod", "version": version, "commit": commit, "path": path("train")},
        predictions=Table(predictions.file, batch) if predictions else None,
        metrics=small_json("metrics"),
        importance=None if importance is None else outputs.parse_importance(importance, where),
        importance_source=where,
    )


def _parse_json(raw: bytes, source: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source}: not valid JSON: {exc}") from exc
