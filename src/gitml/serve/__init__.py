"""Model serving: a FastAPI app over a gitml model directory or registry stage.

`gitml serve` runs it under uvicorn; `gitml predict` predicts files in chunks with the
same validation. Serving never imports training code: it needs the model file, its
signature and (optionally) version.json, nothing else of the pipeline. Importing this
package is cheap; `gitml.serve.main.create_app` is the app factory.
"""

from __future__ import annotations

__all__ = [
    "batch", "batcher", "deps", "inputs", "logsink", "main", "metrics", "middleware", "model", "predlog", "protocol",
    "routers", "schemas", "service", "settings", "workers",
]
