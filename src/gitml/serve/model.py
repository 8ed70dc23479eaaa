"""A servable model: the fitted pipeline, its signature and version, loaded from a model directory.

A model directory holds `model.skops`, `signature.json` and optionally `version.json`
({"name","version","stage","commit","registered_at"}). It comes either from a folder
(`--model DIR`) or from the registry (`--stage prod`, materialised by
`gitml.registry.artifacts.get` into a temporary folder, re-fetched on every reload). The model is
loaded with `gitml.model.modelio.load_model`, so only reviewed, trusted types are built.
Training code is never imported here.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gitml.core import io
from gitml.core.errors import DataError, ModelFileError
from gitml.model import modelio
from gitml.model import signature as signatures
from gitml.model.modelio import MODEL_FILE, SIGNATURE_FILE, VERSION_FILE
from gitml.serve import schemas
from gitml.serve.inputs import DEFAULT_RULES, Rows, Rules, Validator

log = logging.getLogger(__name__)

#: Classifiers whose `predict` is the argmax of `predict_proba`: one model call gives both.
_ARGMAX_CLASSIFIERS = frozenset({
    "DecisionTreeClassifier", "ExtraTreeClassifier", "RandomForestClassifier", "ExtraTreesClassifier",
    "GradientBoostingClassifier", "HistGradientBoostingClassifier", "LogisticRegression", "GaussianNB",
})


@dataclass(frozen=True)
class VersionInfo:
    """What /version reports and every logged prediction carries as `model_version`."""

    name: str
    version: str
    stage: str | None = None
    commit: str | None = None
    registered_at: str | None = None


@dataclass(frozen=True)
class Prediction:
    """One model call's output: a label (or value) per row and, for classifiers, class probabilities."""

    labels: np.ndarray
    proba: np.ndarray | None = None

    def part(self, start: int, stop: int) -> Prediction:
        proba = None if self.proba is None else self.proba[start:stop]
        return Prediction(self.labels[start:stop], proba)


class Bundle:
    """A loaded model with everything needed to validate requests and predict."""

    def __init__(self, model: Any, signature: signatures.Signature, info: VersionInfo,
                 rules: Rules = DEFAULT_RULES) -> None:
        self.model = model
        self.signature = signature
        self.info = info
        self.validator = Validator(signature, rules)
        self.request_model = schemas.request_model(signature, rules)
        self.classes: list[Any] | None = None
        self._argmax = False
        if signature.task == "classification":
            self.classes = [c.item() if hasattr(c, "item") else c for c in getattr(model, "classes_", [])]
            if [str(c) for c in self.classes] != [str(c) for c in signature.classes or []]:
                raise ModelFileError(
                    f"model {info.name} {info.version}: classes {self.classes} differ from the signature's "
                    f"{signature.classes}"
                )
            final = model[-1] if hasattr(model, "steps") else model
            self._argmax = hasattr(model, "predict_proba") and type(final).__name__ in _ARGMAX_CLASSIFIERS
            self._class_array = np.asarray(self.classes, dtype=object)

    @property
    def is_classifier(self) -> bool:
        return self.classes is not None

    def predict(self, rows: Rows) -> Prediction:
        """One model call for validated rows (one request or a micro-batch of several)."""
        frame = rows.frame()
        if not self.is_classifier:
            return Prediction(np.asarray(self.model.predict(frame), dtype=np.float64))
        if not hasattr(self.model, "predict_proba"):
            return Prediction(np.asarray(self.model.predict(frame), dtype=object))
        proba = np.asarray(self.model.predict_proba(frame), dtype=np.float64)
        if self._argmax:
            labels = self._class_array[proba.argmax(axis=1)]
        else:
            labels = np.asarray(self.model.predict(frame), dtype=object)
        return Prediction(labels, proba)


def _file_version(path: Path) -> str:
    """A content version for a model without version.json, so logs still tell models apart."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()[:12]}"


def _version_info(directory: Path, signature: signatures.Signature) -> VersionInfo:
    path = directory / VERSION_FILE
    if not path.is_file():
        return VersionInfo(name=signature.name, version=_file_version(directory / MODEL_FILE))
    try:
        raw = io.read_json(path)
    except DataError as exc:
        raise ModelFileError(str(exc)) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("version"), str):
        raise ModelFileError(f"{path}: expected an object with a string `version`")
    fields = ("stage", "commit", "registered_at")
    text = {key: None if raw.get(key) is None else str(raw[key]) for key in fields}
    return VersionInfo(name=str(raw.get("name") or signature.name), version=raw["version"], **text)


def load_dir(directory: str | Path, rules: Rules = DEFAULT_RULES) -> Bundle:
    """Load a model directory; any problem is a ModelFileError naming the file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"model directory not found: {directory}")
    signature = signatures.load(directory / SIGNATURE_FILE)
    model = modelio.load_model(directory / MODEL_FILE)
    info = _version_info(directory, signature)
    bundle = Bundle(model, signature, info, rules)
    log.info("loaded model %s %s from %s", info.name, info.version, directory)
    return bundle


class Source(Protocol):
    """Where a model directory comes from; fetched again on every reload."""

    def fetch(self) -> Path: ...

    def release(self, path: Path) -> None: ...


@dataclass(frozen=True)
class DirectorySource:
    path: Path

    def fetch(self) -> Path:
        return self.path

    def release(self, path: Path) -> None:
        """A user's folder is left as it is."""


@dataclass(frozen=True)
class StageSource:
    """The registry version currently assigned to `stage`, materialised by `gitml.registry.artifacts.get`."""

    artifact: str
    stage: str

    def fetch(self) -> Path:
        from gitml.registry import artifacts  # imported only on this path

        output = Path(tempfile.mkdtemp(prefix="gitml-serve-"))
        try:
            artifacts.get(self.artifact, stage=self.stage, output=output)
        except BaseException:
            shutil.rmtree(output, ignore_errors=True)
            raise
        return output

    def release(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)


def load(source: Source, rules: Rules = DEFAULT_RULES) -> Bundle:
    """Fetch and load a model; the fetched files are released once the model is in memory."""
    path = source.fetch()
    try:
        return load_dir(path, rules)
    finally:
        source.release(path)
