"""gitml.model.modelio: byte-reproducible skops archives, atomic saves and allow-listed loading."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)
from sklearn.tree import DecisionTreeClassifier

from gitml.core import io
from gitml.core.errors import ModelFileError, UntrustedModelError
from gitml.model import modelio
from gitml.model.modelio import DEFAULT_TRUSTED, load_model, save_model

SRC_DIR = Path(modelio.__file__).resolve().parents[2]
TESTS_DIR = Path(__file__).resolve().parent


def _frame() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 80
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.exponential(size=n),
            "c": rng.choice(["red", "green", "blue"], size=n),
            "d": rng.choice(["p", "q"], size=n),
        }
    )
    frame.loc[::9, "a"] = np.nan
    frame.loc[::11, "c"] = None
    labels = np.array(["low", "mid", "high"])[(frame["b"].to_numpy() > 0.5).astype(int) + (frame["b"].to_numpy() > 1.5)]
    target = frame["b"].to_numpy() * 2.0 + rng.normal(size=n)
    return frame, labels, target


def _preprocessor(categorical: object = None) -> ColumnTransformer:
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    if categorical is None:
        categorical = Pipeline(
            [("impute", SimpleImputer(strategy="most_frequent")), ("onehot", OneHotEncoder(handle_unknown="ignore"))]
        )
    return ColumnTransformer([("num", numeric, ["a", "b"]), ("cat", categorical, ["c", "d"])], remainder="drop")


def _fit(kind: str) -> Pipeline:
    """A freshly fitted, seeded classification pipeline of the given kind."""
    frame, labels, _ = _frame()
    if kind == "rf":
        model = RandomForestClassifier(n_estimators=10, random_state=0)
    elif kind == "hgb":
        model = HistGradientBoostingClassifier(max_iter=10, random_state=0)
    else:
        raise ValueError(kind)
    return Pipeline([("features", _preprocessor()), ("model", model)]).fit(frame, labels)


def _save_fitted(kind: str, path: str) -> None:
    """Entry point for the cross-process test: fit and save in a fresh interpreter."""
    save_model(_fit(kind), path)


class Doubler(TransformerMixin, BaseEstimator):
    """A transformer skops does not know: its type is not in any allow-list."""

    def fit(self, X, y=None):  # noqa: N803 - scikit-learn naming
        return self

    def transform(self, X):  # noqa: N803 - scikit-learn naming
        return np.asarray(X, dtype=float) * 2


def _halve(X):  # noqa: N803 - scikit-learn naming
    return np.asarray(X, dtype=float) / 2


@pytest.mark.parametrize("kind", ["rf", "hgb"])
def test_separately_fitted_models_give_identical_bytes_and_predictions(tmp_path: Path, kind: str) -> None:
    first, second = _fit(kind), _fit(kind)
    save_model(first, tmp_path / "first.skops")
    save_model(second, tmp_path / "second.skops")

    assert (tmp_path / "first.skops").read_bytes() == (tmp_path / "second.skops").read_bytes()

    frame, _, _ = _frame()
    loaded = load_model(tmp_path / "first.skops")
    np.testing.assert_array_equal(loaded.predict(frame), first.predict(frame))
    np.testing.assert_array_equal(loaded.predict_proba(frame), first.predict_proba(frame))
    np.testing.assert_array_equal(loaded.predict_proba(frame), second.predict_proba(frame))


def test_saving_the_same_object_twice_gives_identical_bytes(tmp_path: Path) -> None:
    model = _fit("rf")
    save_model(model, tmp_path / "one.skops")
    save_model(model, tmp_path / "two.skops")
    first = (tmp_path / "one.skops").read_bytes()
    assert first == (tmp_path / "two.skops").read_bytes()

    save_model(model, str(tmp_path / "one.skops"))  # overwrite in place, str path
    assert (tmp_path / "one.skops").read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.skops", "two.skops"]


def test_bytes_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """dvc repro saves in a fresh interpreter: ids and hash seeds differ, the bytes must not."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC_DIR), str(TESTS_DIR)]), "PYTHONHASHSEED": "12345"}
    script = "import sys, test_modelio as t; t._save_fitted('rf', sys.argv[1]); t._save_fitted('hgb', sys.argv[2])"
    other_rf, other_hgb = tmp_path / "other_rf.skops", tmp_path / "other_hgb.skops"
    subprocess.run([sys.executable, "-c", script, str(other_rf), str(other_hgb)], check=True, env=env, timeout=120)

    _save_fitted("rf", str(tmp_path / "rf.skops"))
    _save_fitted("hgb", str(tmp_path / "hgb.skops"))
    assert other_rf.read_bytes() == (tmp_path / "rf.skops").read_bytes()
    assert other_hgb.read_bytes() == (tmp_path / "hgb.skops").read_bytes()


def test_archive_is_normalised(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    save_model(_fit("hgb"), path)

    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        schema = json.loads(archive.read("schema.json"))
    names = [info.filename for info in infos]
    assert names[-1] == "schema.json"
    assert names[:-1] == [f"{i}.npy" for i in range(len(names) - 1)]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED

    ids: list[int] = []
    files: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("__loader__"), str):
                ids.append(value["__id__"])
                if "file" in value:
                    files.append(value["file"])
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(schema)
    distinct = list(dict.fromkeys(ids))
    assert distinct == list(range(1, len(distinct) + 1))  # first-seen order, from 1, no gaps
    assert list(dict.fromkeys(files)) == names[:-1]


def test_shared_references_survive_renumbering(tmp_path: Path) -> None:
    array = np.arange(6.0)
    scaler = StandardScaler().fit(array.reshape(-1, 1))
    path = tmp_path / "shared.skops"
    save_model([array, array, scaler, scaler, np.arange(3)], path)

    loaded = load_model(path)
    assert loaded[0] is loaded[1]
    assert loaded[2] is loaded[3]
    assert loaded[0] is not loaded[4]
    np.testing.assert_array_equal(loaded[0], array)
    np.testing.assert_array_equal(loaded[2].scale_, scaler.scale_)
    save_model([array, scaler, np.arange(3)], tmp_path / "distinct.skops")
    with zipfile.ZipFile(path) as shared, zipfile.ZipFile(tmp_path / "distinct.skops") as distinct:
        assert len(shared.namelist()) == len(distinct.namelist())  # each shared array stored once


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("logistic", lambda: LogisticRegression(max_iter=200)),
        ("gradient_boosting", lambda: GradientBoostingClassifier(n_estimators=5, random_state=0)),
        ("decision_tree", lambda: DecisionTreeClassifier(random_state=0)),
        ("hgb_native_categorical", lambda: HistGradientBoostingClassifier(max_iter=5, categorical_features=[2, 3])),
    ],
)
def test_default_allow_list_loads_gitml_classifiers(tmp_path: Path, name: str, build) -> None:
    frame, labels, _ = _frame()
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)),
        ]
    )
    model = Pipeline([("features", _preprocessor(categorical)), ("model", build())]).fit(frame, labels)
    path = tmp_path / f"{name}.skops"
    save_model(model, path)
    np.testing.assert_array_equal(load_model(path).predict_proba(frame), model.predict_proba(frame))


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("ridge", lambda: Ridge()),
        ("linear", lambda: LinearRegression()),
        ("extra_trees", lambda: ExtraTreesRegressor(n_estimators=5, random_state=0)),
        ("hgb", lambda: HistGradientBoostingRegressor(max_iter=5, random_state=0)),
    ],
)
def test_default_allow_list_loads_gitml_regressors(tmp_path: Path, name: str, build) -> None:
    frame, _, target = _frame()
    numeric = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("clip", FunctionTransformer(np.clip, kw_args={"a_min": -3.0, "a_max": 3.0})),
            ("log", FunctionTransformer(np.log1p, inverse_func=np.expm1)),
            ("bins", KBinsDiscretizer(n_bins=3, encode="onehot-dense", quantile_method="averaged_inverted_cdf")),
        ]
    )
    scaled = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    features = ColumnTransformer([("num", numeric, ["b"]), ("scaled", scaled, ["a"]), ("cat", OneHotEncoder(), ["d"])])
    model = Pipeline([("features", features), ("model", build())]).fit(frame, target)
    path = tmp_path / f"{name}.skops"
    save_model(model, path)
    np.testing.assert_array_equal(load_model(path).predict(frame), model.predict(frame))


def test_custom_class_is_refused(tmp_path: Path) -> None:
    frame, labels, _ = _frame()
    model = Pipeline([("features", _preprocessor()), ("double", Doubler()), ("model", LogisticRegression())])
    path = tmp_path / "custom.skops"
    save_model(model.fit(frame, labels), path)

    with pytest.raises(UntrustedModelError) as info:
        load_model(path)
    message = str(info.value)
    assert f"{Doubler.__module__}.Doubler" in message
    assert str(path) in message
    assert "\n" not in message
    assert isinstance(info.value, ModelFileError)


def test_function_transformer_with_foreign_function_is_refused_unless_trusted(tmp_path: Path) -> None:
    frame, _, _ = _frame()
    model = FunctionTransformer(_halve).fit(frame[["a", "b"]])
    path = tmp_path / "halve.skops"
    save_model(model, path)

    name = f"{_halve.__module__}._halve"
    with pytest.raises(UntrustedModelError, match=name):
        load_model(path)
    loaded = load_model(path, trusted=DEFAULT_TRUSTED | {name})
    np.testing.assert_array_equal(loaded.transform(frame[["a", "b"]]), model.transform(frame[["a", "b"]]))


def test_untrusted_types_are_sorted_and_allow_list_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "rf.skops"
    save_model(_fit("rf"), path)
    with pytest.raises(UntrustedModelError) as info:
        load_model(path, trusted=())
    assert str(info.value).endswith("untrusted types: numpy.dtype, sklearn.tree._tree.Tree")


def test_trusted_must_not_be_a_single_string(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        load_model(tmp_path / "model.skops", trusted="sklearn.tree._tree.Tree")


def test_missing_file_raises_model_file_error(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "model.skops"
    with pytest.raises(ModelFileError, match="not found") as info:
        load_model(path)
    assert str(path) in str(info.value)
    assert not isinstance(info.value, UntrustedModelError)


def test_directory_raises_model_file_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError) as info:
        load_model(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"this is not a skops archive\n", id="garbage"),
        pytest.param(b"", id="empty"),
        pytest.param("zip-without-schema", id="zip-without-schema"),
        pytest.param("truncated", id="truncated"),
        pytest.param("bad-json", id="bad-json"),
    ],
)
def test_unreadable_file_raises_model_file_error(tmp_path: Path, content: bytes | str) -> None:
    path = tmp_path / "model.skops"
    if content == "zip-without-schema":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("weights.npy", b"\x00" * 16)
    elif content == "truncated":
        save_model(_fit("rf"), path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif content == "bad-json":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("schema.json", "{not json\n")
    else:
        path.write_bytes(content)

    with pytest.raises(ModelFileError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    assert not isinstance(info.value, UntrustedModelError)
    assert info.value.__cause__ is not None


def _existing(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "model.skops"
    save_model(_fit("rf"), path)
    return path, path.read_bytes()


def test_failed_normalisation_keeps_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, before = _existing(tmp_path)

    def broken(src, out) -> None:
        out.write(b"half-written")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(modelio, "_normalise", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_model(_fit("hgb"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


def test_failed_replace_keeps_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, before = _existing(tmp_path)

    def broken(src, dst) -> None:
        raise OSError("replace failed")

    monkeypatch.setattr(io.os, "replace", broken)  # the rename of core.io.atomic_path
    with pytest.raises(OSError, match="replace failed"):
        save_model(_fit("hgb"), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


def test_unsupported_object_keeps_existing_file(tmp_path: Path) -> None:
    path, before = _existing(tmp_path)
    with pytest.raises(TypeError):
        save_model((x for x in range(3)), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


def test_default_trusted_is_a_sorted_literal_without_code_runners() -> None:
    tree = ast.parse(Path(modelio.__file__).read_text(encoding="utf-8"))
    literal = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "DEFAULT_TRUSTED"
    )
    names = [node.value for node in ast.walk(literal) if isinstance(node, ast.Constant)]
    assert names == sorted(names)
    assert frozenset(names) == DEFAULT_TRUSTED

    forbidden_modules = {"builtins", "os", "sys", "subprocess", "importlib", "pickle", "marshal", "shutil", "runpy"}
    forbidden_names = {"eval", "exec", "compile", "__import__", "getattr", "setattr", "system", "popen", "open"}
    for name in DEFAULT_TRUSTED:
        module, _, attr = name.rpartition(".")
        assert module.split(".")[0] not in forbidden_modules, name
        assert attr not in forbidden_names, name
        assert not name.startswith("operator."), name


def test_importing_modelio_does_not_import_skops_or_sklearn() -> None:
    code = (
        "import sys, gitml.model.modelio; "
        "heavy = sorted(m for m in ('skops', 'skops.io', 'sklearn') if m in sys.modules); "
        "sys.exit(', '.join(heavy) or 0)"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC_DIR)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
