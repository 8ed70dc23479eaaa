"""The MLflow scoring protocol of `POST /invocations`, so existing MLflow clients work unchanged.

A JSON body holds exactly one of `dataframe_split`, `dataframe_records`, `instances` or
`inputs`; other keys are ignored, `params` too (this model takes none: logged once), as
MLflow's server does. A `text/csv` body is a table with a header, an
`application/vnd.apache.parquet` body a Parquet file (`DataFrame.to_parquet()`). Each is
turned into columns and checked by the signature's `Validator`. Every problem is a 400
(MLflow's status) naming the key or column at fault; a body that cannot be parsed at any
depth or size (JSON nested thousands deep, an integer of thousands of digits) is a 400
too, never a 500; a media type or charset the server does not read is a 415.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
from typing import Any

from gitml.core.errors import RequestError
from gitml.serve.inputs import Rows, Validator

log = logging.getLogger(__name__)

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
MEDIA_TYPES = (JSON, CSV, PARQUET)


def _bad(message: str) -> RequestError:
    return RequestError(message, 400, "BAD_REQUEST")


def media_type(content_type: str | None, accepted: tuple[str, ...] = MEDIA_TYPES) -> str:
    """The bare media type of a Content-Type header, or a 415 when it is not one of `accepted` (UTF-8 only)."""
    kind, *parameters = [part.strip() for part in (content_type or "").split(";")]
    kind = kind.lower()
    if kind not in accepted:
        raise RequestError(f"Content-Type {kind or '(none)'!r} is not supported; send {' or '.join(accepted)}",
                           415, "BAD_REQUEST")
    for parameter in filter(None, parameters):
        key, _, value = parameter.partition("=")
        if key.strip().lower() != "charset":
            raise RequestError(f"Content-Type parameter {key.strip()!r} is not supported (only charset)",
                               415, "BAD_REQUEST")
        if value.strip().strip('"').lower() not in {"utf-8", "utf8"}:
            raise RequestError(f"charset {value.strip()!r} is not supported; send UTF-8", 415, "BAD_REQUEST")
    return kind


def parse(body: bytes, content_type: str | None, validator: Validator, max_rows: int) -> Rows:
    """Validated rows from an /invocations body of any accepted media type."""
    kind = media_type(content_type)
    if kind == CSV:
        return _csv(body, validator, max_rows)
    if kind == PARQUET:
        return _parquet(body, validator, max_rows)
    return parse_json(load_json(body), validator, max_rows)


def load_json(body: bytes) -> Any:
    """The JSON value of a body; anything unreadable, however deep or long, is a 400."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _bad("request body is not valid JSON here: it nests too deeply") from None
    except ValueError as exc:  # int() refuses more than sys.get_int_max_str_digits() digits
        raise _bad(f"request body is not valid JSON here: {exc}") from None


def parse_json(payload: Any, validator: Validator, max_rows: int) -> Rows:
    if not isinstance(payload, dict):
        raise _bad(f"expected a JSON object with one of the keys {', '.join(FORMATS)}")
    found = [key for key in FORMATS if key in payload]
    if len(found) != 1:
        raise _bad(f"expected exactly one of the keys {', '.join(FORMATS)}, got {len(found)}")
    _params(payload.get("params"))
    key = found[0]
    value = payload[key]
    if key == "dataframe_split":
        return _split(value, validator, max_rows)
    if key == "inputs" and isinstance(value, dict):
        return _columnar(value, validator, max_rows)
    if not isinstance(value, list):
        raise _bad(f"{key}: expected a list of records")
    return _list(value, key, validator, max_rows)


def _params(params: Any) -> None:
    """MLflow passes `params` to a model that declares them, and ignores them (with a warning) otherwise."""
    if params:
        _warn_params()


@functools.cache
def _warn_params() -> None:
    log.warning("requests send `params`; this model takes no inference parameters, so they are ignored")


def _check_size(n: int, max_rows: int) -> None:
    if n == 0:
        raise _bad("the request has no rows")
    if n > max_rows:
        raise RequestError(f"the request has {n} rows, at most {max_rows} are allowed (serve.max_batch_rows)",
                           413, "REQUEST_LIMIT_EXCEEDED")


def _list(items: list[Any], key: str, validator: Validator, max_rows: int) -> Rows:
    """Records (objects) or positional rows (lists in signature order)."""
    _check_size(len(items), max_rows)
    if all(isinstance(item, list) for item in items):
        return _rows(validator.names, items, key, validator)
    return validator.from_records(items, key)


def _split(value: Any, validator: Validator, max_rows: int) -> Rows:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise _bad("dataframe_split: expected an object with `columns` and `data` (a list of rows)")
    columns = value.get("columns", validator.names)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise _bad("dataframe_split.columns: expected a list of column names")
    if len(set(columns)) != len(columns):
        raise _bad("dataframe_split.columns: column names repeat")
    _check_size(len(value["data"]), max_rows)
    return _rows(columns, value["data"], "dataframe_split.data", validator)


def _rows(names: list[str], rows: list[Any], where: str, validator: Validator) -> Rows:
    width = len(names)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            size = f"{len(row)} values" if isinstance(row, list) else "not a list"
            raise _bad(f"{where}[{i}]: {size} for {width} columns")
    columns = dict(zip(names, zip(*rows, strict=True), strict=True))
    return validator.from_columns(columns, len(rows))


def _columnar(value: dict[str, Any], validator: Validator, max_rows: int) -> Rows:
    """TF-serving columnar `inputs`: column -> list of values (a scalar is one row)."""
    columns = {name: v if isinstance(v, list) else [v] for name, v in value.items()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise _bad(f"inputs: columns have different lengths {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    _check_size(n, max_rows)
    return validator.from_columns(columns, n)


def _parquet(body: bytes, validator: Validator, max_rows: int) -> Rows:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(pa.BufferReader(body)).to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        raise _bad(f"{PARQUET}: not a readable Parquet file: {exc}") from None
    _check_size(len(frame), max_rows)
    return validator.from_frame(frame, request=True)


def _csv(body: bytes, validator: Validator, max_rows: int) -> Rows:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(f"text/csv: body is not UTF-8: {exc}") from exc
    try:
        table = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise _bad(f"text/csv: {exc}") from exc
    table = [row for row in table if row]
    if not table:
        raise _bad("text/csv: empty body, expected a header line and rows")
    header, rows = table[0], table[1:]
    if len(set(header)) != len(header):
        raise _bad("text/csv: header names repeat")
    _check_size(len(rows), max_rows)
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise _bad(f"text/csv: line {i + 2} has {len(row)} fields for {len(header)} columns")
    columns = dict(zip(header, zip(*rows, strict=True), strict=True))
    return validator.from_columns(columns, len(rows), text=True)
