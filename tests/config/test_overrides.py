"""gitml.config.overrides: an override written into conf/ changes only its line, and composes as the override does."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from gitml.config import compose, overrides
from gitml.core.errors import ConfigError


def _changed_lines(before: dict[Path, str], conf: Path) -> list[str]:
    """Every line added or removed anywhere under conf/, as a unified diff's +/- lines."""
    lines = []
    for path in sorted(conf.rglob("*.yaml")):
        old, new = before.get(path, ""), path.read_text()
        lines += [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="")
                  if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return lines


@pytest.fixture
def conf(project) -> tuple[Path, dict[Path, str]]:
    """The project's conf/ and its files' text before the test."""
    folder = project / "conf"
    return folder, {path: path.read_text() for path in folder.rglob("*.yaml")}


def test_group_choice_and_value_land_on_their_own_lines(conf):
    folder, before = conf
    wanted = compose.compose(folder, ["model=hist_gradient_boosting", "model.max_iter=5", "tune.timeout=30"])

    changes = overrides.save(folder, ["model=hist_gradient_boosting", "model.max_iter=5", "tune.timeout=30"])

    assert [str(c) for c in changes] == ["conf/config.yaml: defaults.model: hist_gradient_boosting",
                                         "conf/model/hist_gradient_boosting.yaml: max_iter: 5",
                                         "conf/tune/default.yaml: timeout: 30"]
    assert _changed_lines(before, folder) == [
        "-  - model: random_forest", "+  - model: hist_gradient_boosting",
        "-max_iter: 100", "+max_iter: 5",
        "-timeout: null        # seconds; stop proposing trials after this long",
        "+timeout: 30          # seconds; stop proposing trials after this long",
    ]
    assert compose.compose(folder) == wanted


def test_added_keys_go_under_their_parent(conf):
    folder, before = conf

    overrides.save(folder, ["+features.split.shuffle_note=x", "++project.team=ml"])

    assert _changed_lines(before, folder) == ["+  team: ml", "+  shuffle_note: x"]


def test_an_override_already_in_conf_changes_nothing(conf):
    folder, before = conf

    assert overrides.save(folder, ["model=random_forest", "seed=42"]) == []
    assert _changed_lines(before, folder) == []


@pytest.mark.parametrize(("override", "message"), [
    ("model.n_estimators=1,2", r"a sweep runs as experiments \(`dvc exp run --queue -S"),
    ("~seed", "deleting a key is not written into conf/"),
    ("model@candidates.x=linear", r"a group choice with a package \(@\)"),
    ("model.n_trees=3", r"model\.n_trees: not set in conf/model/random_forest\.yaml .* add it with \+model\.n_trees="),
    ("+model.a.b=3", r"model\.a\.b: conf/model/random_forest\.yaml has no mapping 'a' to hold it"),
    ("model=nope", r"cannot compose"),
    ("data.contract=5", r"data\.contract: conf/data/breast_cancer\.yaml holds a block there"),
])
def test_what_cannot_be_written_faithfully_is_refused_and_conf_is_left_alone(conf, override, message):
    folder, before = conf

    with pytest.raises(ConfigError, match=message):
        overrides.save(folder, ["seed=3", override])

    assert _changed_lines(before, folder) == []
