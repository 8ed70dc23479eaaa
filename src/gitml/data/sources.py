"""Data sources: scikit-learn's bundled datasets, CSV/Parquet files and a seeded generator.

Nothing is downloaded: the bundled datasets ship inside scikit-learn, and the
generator makes data of any size for scale tests from the seed alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitml.config import ColumnSpec, Contract, Data, FileSource, SklearnSource, SyntheticSource
from gitml.core import io
from gitml.core.errors import ConfigError, DataError
from gitml.core.text import quoted

if TYPE_CHECKING:
    import pandas as pd

#: Categorical levels of the synthetic generator's columns.
SYNTHETIC_LEVELS = ("a", "b", "c", "d", "e")


def load(data: Data, seed: int) -> pd.DataFrame:
    """Load the configured source; the target column is always named `data.target`."""
    source = data.source
    if isinstance(source, SklearnSource):
        frame = _sklearn(source.name, data.target)
    elif isinstance(source, FileSource):
        frame = io.read_table(source.path, source.format)
    else:
        frame = synthetic(source, data.task, data.target, seed)
    if data.target not in frame.columns:
        raise DataError(f"data.target: column {quoted(data.target)} is not in the data ({_describe(source)})")
    return frame


def _describe(source: SklearnSource | FileSource | SyntheticSource) -> str:
    if isinstance(source, FileSource):
        return source.path
    return f"{source.kind} source"


def _sklearn(name: str, target: str) -> pd.DataFrame:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.rename(columns={"target": target})
    names = getattr(bunch, "target_names", None)
    if names is not None and len(names) and not isinstance(names[0], (int, float)):
        # Classification targets are named classes, so predictions read as labels.
        frame[target] = [str(names[code]) for code in frame[target]]
    return frame


def synthetic(source: SyntheticSource, task: str, target: str, seed: int) -> pd.DataFrame:
    """A table whose target depends on every column, generated column-wise with numpy."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = source.n_rows
    columns: dict[str, np.ndarray] = {}
    signal = np.zeros(n)
    weights = rng.normal(size=source.n_numeric + source.n_categorical)
    for i in range(source.n_numeric):
        values = rng.normal(loc=i % 3, scale=1.0 + (i % 4), size=n)
        columns[f"num_{i}"] = values
        signal += weights[i] * (values - i % 3) / (1.0 + i % 4)
    level_effects = rng.normal(size=(source.n_categorical, len(SYNTHETIC_LEVELS)))
    for j in range(source.n_categorical):
        codes = rng.integers(0, len(SYNTHETIC_LEVELS), size=n)
        columns[f"cat_{j}"] = np.asarray(SYNTHETIC_LEVELS, dtype=object)[codes]
        signal += weights[source.n_numeric + j] * level_effects[j, codes]
    signal = signal / max(signal.std(), 1e-12) + rng.normal(scale=source.noise, size=n)
    if task == "classification":
        edges = np.quantile(signal, np.linspace(0, 1, source.n_classes + 1)[1:-1])
        labels = np.asarray([f"class_{k}" for k in range(source.n_classes)], dtype=object)
        columns[target] = labels[np.searchsorted(edges, signal)]
    else:
        columns[target] = signal
    frame = pd.DataFrame(columns)
    for j in range(source.n_categorical):
        frame[f"cat_{j}"] = frame[f"cat_{j}"].astype("str")
    if task == "classification":
        frame[target] = frame[target].astype("str")
    return frame


def synthetic_contract(source: SyntheticSource, task: str, target: str) -> dict[str, ColumnSpec]:
    """The generator knows its own schema exactly, so its contract is derived, not inferred."""
    columns = {f"num_{i}": ColumnSpec(dtype="float", role="numeric") for i in range(source.n_numeric)}
    for j in range(source.n_categorical):
        columns[f"cat_{j}"] = ColumnSpec(dtype="str", role="categorical", categories=list(SYNTHETIC_LEVELS))
    if task == "classification":
        classes = [f"class_{k}" for k in range(source.n_classes)]
        columns[target] = ColumnSpec(dtype="str", role="categorical", categories=classes)
    else:
        columns[target] = ColumnSpec(dtype="float", role="numeric")
    return columns


def contract(data: Data) -> Contract:
    """The contract in force: the declared one, or the synthetic source's own."""
    if data.contract.columns:
        return data.contract
    if isinstance(data.source, SyntheticSource):
        columns = synthetic_contract(data.source, data.task, data.target)
        return data.contract.model_copy(update={"columns": columns})
    raise ConfigError(
        "data.contract.columns: empty; declare the data contract "
        "(`gitml contract infer DATA_FILE` writes a starting one)"
    )
