"""Request and response models: the /predict request model is generated from the signature.

Each input column becomes a field typed by its dtype (a `Literal` of its categories when
unknown categories are refused, optional when missing values are accepted), aliased to
the column's real name (names may hold spaces). The model documents /predict in OpenAPI;
requests themselves are read by `records` and checked by the same `Validator` as
/invocations, so both endpoints take and refuse the same values.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from gitml.core.errors import RequestError
from gitml.model.signature import InputSpec, Signature
from gitml.serve import protocol
from gitml.serve.inputs import DEFAULT_RULES, Rules

Label = str | int | float | bool

_TYPES: dict[str, Any] = {"float": float, "int": int, "bool": bool, "str": str, "datetime": str}


def _field_type(spec: InputSpec, rules: Rules) -> Any:
    kind: Any = _TYPES[spec.dtype]
    if spec.categories and rules.unknown_categories == "reject":
        kind = Literal[tuple(spec.categories)]
    return kind | None if spec.nullable or rules.nulls == "accept" else kind


def request_model(signature: Signature, rules: Rules = DEFAULT_RULES) -> type[BaseModel]:
    """`{"records": [{column: value, ...}, ...]}` for this signature, for the OpenAPI document.

    Fields are named `c0, c1, ...` and aliased to the real column names, so no column name
    (with spaces, or one pydantic reserves such as `model_config`) can clash.
    """
    fields: dict[str, Any] = {
        f"c{i}": (_field_type(spec, rules), Field(alias=spec.name, description=f"{spec.dtype}, {spec.role}"))
        for i, spec in enumerate(signature.inputs)
    }
    extra = "forbid" if rules.extra_columns == "reject" else "ignore"
    record = create_model("Record", __config__=ConfigDict(extra=extra, populate_by_name=False), **fields)
    return create_model(
        "PredictRequest", __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(min_length=1, description="rows to predict, one object per row")),
    )


def records(body: bytes) -> list[Any]:
    """The rows of a /predict body, `{"records": [...]}`; each row is checked by the signature's validator."""
    payload = protocol.load_json(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise RequestError('expected a JSON object {"records": [{column: value, ...}, ...]}', 400, "BAD_REQUEST")
    unknown = sorted(key for key in payload if key != "records")
    if unknown:
        raise RequestError(f"unknown key(s) {', '.join(map(repr, unknown))}; expected only 'records'", 400,
                           "BAD_REQUEST")
    if not payload["records"]:
        raise RequestError("records: the request has no rows", 400, "BAD_REQUEST")
    return payload["records"]


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
    """MLflow's error body (`mlflow.exceptions.MlflowException.serialize_as_json`)."""

    error_code: str
    message: str


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
        "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary",
                                                      "description": "a Parquet file (DataFrame.to_parquet())"}},
    },
}
