"""Request and response models: the /predict request model is generated from the signature.

Each input column becomes a field typed by its dtype (a `Literal` of its categories
when it has them, optional when nullable), aliased to the column's real name (names
may hold spaces). Validation is strict (no "1.5" strings for numbers, no numbers for
strings); an integer column also takes integral floats such as 3.0.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from gitml.core.errors import RequestError
from gitml.model.signature import InputSpec, Signature
from gitml.serve.inputs import show

Label = str | int | float | bool


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_TYPES: dict[str, Any] = {
    "float": Annotated[float, Field(strict=True, allow_inf_nan=False)],
    "int": Annotated[int, BeforeValidator(_integral), Field(strict=True)],
    "bool": Annotated[bool, Field(strict=True)],
    "str": Annotated[str, Field(strict=True)],
    "datetime": Annotated[str, Field(strict=True, examples=["2024-05-31", "2024-05-31T17:45:00"])],
}


def _field_type(spec: InputSpec) -> Any:
    kind: Any = Literal[tuple(spec.categories)] if spec.categories else _TYPES[spec.dtype]
    return kind | None if spec.nullable else kind


def request_model(signature: Signature) -> type[BaseModel]:
    """`{"records": [{column: value, ...}, ...]}` for this signature.

    Fields are named `c0, c1, ...` and aliased to the real column names, so no column name
    (with spaces, or one pydantic reserves such as `model_config`) can clash.
    """
    fields: dict[str, Any] = {
        f"c{i}": (_field_type(spec), Field(alias=spec.name, description=f"{spec.dtype}, {spec.role}"))
        for i, spec in enumerate(signature.inputs)
    }
    record = create_model("Record", __config__=ConfigDict(extra="forbid", populate_by_name=False), **fields)
    return create_model(
        "PredictRequest", __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(min_length=1, description="rows to predict, one object per row")),
    )


#: Short messages for the errors whose pydantic text would list a column's whole schema.
_MESSAGES = {
    "extra_forbidden": "unknown column",
    "missing": "missing column",
    "literal_error": "{value} not among the declared categories",
}


def records(model: type[BaseModel], body: bytes) -> list[dict[str, Any]]:
    """Validate a /predict body; the first problems become one 422 line naming the record and column."""
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:3]:
            loc = [str(part) for part in error["loc"]]
            if len(loc) >= 3:  # records, row, column
                where = f"records[{loc[1]}].{loc[2]!r}"
                message = _MESSAGES.get(error["type"], error["msg"]).format(value=show(error.get("input")))
            else:
                where, message = ".".join(loc) or "body", error["msg"]
            problems.append(f"{where}: {message}")
        status = 400 if exc.errors()[0]["type"] == "json_invalid" else 422
        raise RequestError("; ".join(problems), status) from exc
    return [record.model_dump(by_alias=True) for record in parsed.records]


class Predicted(BaseModel):
    prediction: Label
    probabilities: dict[str, float] | None = Field(None, description="per class, for classifiers")


class PredictResponse(BaseModel):
    model_version: str
    request_id: str
    predictions: list[Predicted]


class InvocationsResponse(BaseModel):
    predictions: list[Label]


class Version(BaseModel):
    name: str
    version: str
    stage: str | None
    commit: str | None
    registered_at: str | None
    gitml_version: str


class ErrorBody(BaseModel):
    error_code: str
    detail: str


#: The /invocations request body as documented in OpenAPI (parsed by gitml.serve.protocol).
INVOCATIONS_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": {
            "type": "object",
            "description": "Exactly one of the keys (MLflow scoring protocol).",
            "properties": {
                "dataframe_split": {"type": "object", "properties": {
                    "columns": {"type": "array", "items": {"type": "string"}},
                    "data": {"type": "array", "items": {"type": "array", "items": {}}}}},
                "dataframe_records": {"type": "array", "items": {"type": "object"}},
                "instances": {"type": "array", "items": {}},
                "inputs": {"oneOf": [{"type": "object"}, {"type": "array", "items": {}}]},
                "params": {"type": "object"},
            },
        }},
        "text/csv": {"schema": {"type": "string", "description": "a header line, then one line per row"}},
    },
}
