"""`POST /invocations` (MLflow scoring protocol) and `POST /predict` (typed records)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gitml.core.errors import RequestError
from gitml.serve import protocol, schemas
from gitml.serve.deps import RequestIdDep, ServiceDep, read_body

router = APIRouter(tags=["predictions"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorBody, "description": text}
    for status, text in ((400, "a malformed body, or a column that breaks the model's signature"),
                         (401, "missing or wrong bearer token"), (413, "body or batch over the limit"),
                         (415, "unsupported Content-Type"))
}


@router.post("/invocations", response_model=schemas.InvocationsResponse, responses=ERRORS,
             openapi_extra={"requestBody": schemas.INVOCATIONS_BODY})
async def invocations(request: Request, service: ServiceDep, request_id: RequestIdDep) -> JSONResponse:
    """Predict with the MLflow scoring protocol: JSON (`dataframe_split`, `dataframe_records`,
    `instances`, `inputs`), `text/csv` or Parquet; answers `{"predictions": [...]}`."""
    async with service.batcher.arrival() as arrival:
        protocol.media_type(request.headers.get("content-type"))
        body = await read_body(request, service.config.max_body_bytes)
        bundle = service.bundle
        rows = protocol.parse(body, request.headers.get("content-type"), bundle.validator,
                              service.config.max_batch_rows)
        prediction = await service.predict(bundle, rows, request_id, arrival)
    return JSONResponse({"predictions": prediction.labels.tolist()})


@router.post("/predict", response_model=schemas.PredictResponse, responses=ERRORS)
async def predict(request: Request, service: ServiceDep, request_id: RequestIdDep) -> JSONResponse:
    """Predict typed records (the request schema is generated from the model's signature);
    classifiers return the label and the probability of each class."""
    async with service.batcher.arrival() as arrival:
        # Only JSON: a browser may post text/plain (or a form) to any site without asking first (CORS),
        # so refusing other media types keeps web pages from writing rows into the prediction log.
        protocol.media_type(request.headers.get("content-type"), (protocol.JSON,))
        body = await read_body(request, service.config.max_body_bytes)
        bundle = service.bundle
        records = schemas.records(body)
        limit = service.config.max_batch_rows
        if len(records) > limit:
            raise RequestError(f"the request has {len(records)} rows, at most {limit} are allowed "
                               "(serve.max_batch_rows)", 413, "REQUEST_LIMIT_EXCEEDED")
        rows = bundle.validator.from_records(records, "records")
        prediction = await service.predict(bundle, rows, request_id, arrival)
    labels = prediction.labels.tolist()
    if prediction.proba is None:
        predictions = [{"prediction": label} for label in labels]
    else:
        names = [str(c) for c in bundle.classes]
        predictions = [{"prediction": label, "probabilities": dict(zip(names, row, strict=True))}
                       for label, row in zip(labels, prediction.proba.tolist(), strict=True)]
    return JSONResponse({"model_version": bundle.info.version, "request_id": request_id,
                         "predictions": predictions})
