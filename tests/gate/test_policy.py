"""The promotion policy: each check of one metric, and the policy's validation."""

from __future__ import annotations

import pytest

from gitml import config
from gitml.config import MetricPolicy
from gitml.core.errors import ConfigError, GateError
from gitml.gate import policy


def _judge(name: str = "roc_auc", interval: tuple[float, float] | None = None, base: float = 0.9,
           cand: float = 0.9, **rules: object) -> policy.Judgement:
    rules.setdefault("direction", "higher")
    return policy.judge(name, MetricPolicy(**rules), base, cand, interval)


def test_a_regression_within_noise_passes_and_is_unchanged() -> None:
    j = _judge(base=0.90, cand=0.89, interval=(-0.03, 0.01))
    assert (j.change, j.status, j.reasons) == ("unchanged", "pass", [])


def test_a_significant_regression_fails() -> None:
    j = _judge(base=0.90, cand=0.85, interval=(-0.08, -0.02))
    assert (j.change, j.status) == ("regressed", "fail")
    assert j.reasons == ["regressed significantly by 0.05 (interval -0.08 to -0.02), beyond the tolerated 0"]


def test_without_significance_any_regression_beyond_tolerance_fails() -> None:
    j = _judge(base=0.90, cand=0.89, interval=(-0.03, 0.01), significant_regression=False)
    assert j.status == "fail" and j.reasons[0].startswith("regressed by 0.01")


def test_without_an_interval_the_point_estimate_decides() -> None:
    assert _judge(base=0.90, cand=0.8999).status == "fail"
    assert _judge(base=0.90, cand=0.8999).change == "regressed"
    assert _judge(base=0.90, cand=0.90).change == "unchanged"


@pytest.mark.parametrize(("rules", "status"), [
    ({"max_regression": 0.02}, "pass"),
    ({"max_regression": 0.005}, "fail"),
    ({"max_regression_rel": 0.02}, "pass"),  # 2% of 0.9 = 0.018
    ({"max_regression_rel": 0.01}, "fail"),  # 0.009 < 0.01
    ({"max_regression": 0.005, "max_regression_rel": 0.02}, "pass"),  # the larger tolerance counts
])
def test_tolerated_regression(rules: dict, status: str) -> None:
    assert _judge(base=0.90, cand=0.89, significant_regression=False, **rules).status == status


def test_lower_is_better_flips_the_direction() -> None:
    worse = _judge("log_loss", direction="lower", base=0.20, cand=0.30, interval=(0.05, 0.15))
    assert (worse.change, worse.status) == ("regressed", "fail")
    better = _judge("log_loss", direction="lower", base=0.30, cand=0.20, interval=(-0.15, -0.05))
    assert (better.change, better.status) == ("improved", "pass")


def test_floor_and_ceiling_bound_the_candidate() -> None:
    assert _judge(cand=0.94, base=0.93, floor=0.95).reasons == ["0.94 is below the floor 0.95"]
    assert _judge("log_loss", direction="lower", cand=0.4, base=0.5, ceiling=0.3).reasons == [
        "0.4 is above the ceiling 0.3"]
    assert _judge(cand=0.96, base=0.93, floor=0.95).status == "pass"


def test_required_improvement() -> None:
    assert _judge(base=0.90, cand=0.905, min_improvement=0.01).reasons == [
        "improved by 0.005, less than the required 0.01"]
    assert _judge(base=0.90, cand=0.92, min_improvement=0.01).status == "pass"


def test_a_significant_improvement_can_be_required() -> None:
    rules = {"significant_improvement": True}
    assert _judge(base=0.90, cand=0.92, interval=(0.005, 0.03), **rules).status == "pass"
    assert "not significantly above 0" in _judge(base=0.90, cand=0.92, interval=(-0.001, 0.03), **rules).reasons[0]
    assert "no paired interval" in _judge(base=0.90, cand=0.92, **rules).reasons[0]
    assert _judge(base=0.9, cand=0.95, interval=(0.01, 0.08), min_improvement=0.02, **rules).status == "fail"


def test_metrics_outside_the_policy_are_information() -> None:
    rows = policy.judge_all({"f1": MetricPolicy(direction="higher")}, {"f1": 0.8, "rmse": 2.0, "x": 1.0},
                            {"f1": 0.8, "rmse": 1.0, "y": 1.0}, {})
    assert [(r.name, r.status, r.direction, r.change) for r in rows] == [
        ("f1", "pass", "higher", "unchanged"), ("rmse", "info", "lower", "improved")]
    assert policy.verdict(rows) == "pass"


def test_a_binary_metric_s_rule_judges_its_multiclass_counterpart() -> None:
    rules = {"f1": MetricPolicy(direction="higher", floor=0.5), "roc_auc": MetricPolicy(direction="higher"),
             "accuracy": MetricPolicy(direction="higher")}
    multiclass = {"f1_macro": 0.7, "roc_auc_ovr": 0.9, "accuracy": 0.8}

    assert list(policy.resolve(rules, multiclass)) == ["f1_macro", "roc_auc_ovr", "accuracy"]
    assert policy.resolve(rules, multiclass)["f1_macro"].floor == 0.5
    assert list(policy.resolve(rules, {"f1": 0.7, "roc_auc": 0.9, "accuracy": 0.8})) == ["f1", "roc_auc", "accuracy"]


def test_each_judgement_says_what_its_metric_averages() -> None:
    assert "one-vs-rest" in _judge("roc_auc_ovr").averaging
    assert _judge("my_kpi").averaging is None


def test_a_policy_metric_missing_from_either_side_names_it() -> None:
    with pytest.raises(GateError) as err:
        policy.check_names({"roc_auk": MetricPolicy(direction="higher")}, "classification",
                           {"roc_auc": 1.0}, "reports/metrics.json", {"roc_auc": 1.0}, "reports/metrics.json at abc")
    assert str(err.value).splitlines() == [
        "gate.metrics.classification.roc_auk: no such metric in reports/metrics.json (it has: roc_auc)",
        "gate.metrics.classification.roc_auk: no such metric in reports/metrics.json at abc (it has: roc_auc)",
    ]


def _params(gate: dict) -> dict:
    return {"data": {"source": {"kind": "sklearn", "name": "iris"}, "task": "classification", "target": "t"},
            "model": {"_target_": "sklearn.dummy.DummyClassifier"}, "gate": gate}


@pytest.mark.parametrize(("gate", "message"), [
    ({"metrics": {"classification": {"f1": {"direction": "up"}}}},
     "gate.metrics.classification.f1.direction: Input should be 'higher' or 'lower'"),
    ({"metrics": {"classification": {"f1": {"direction": "higher", "floor": 0.9, "ceiling": 0.5}}}},
     "gate.metrics.classification.f1: Value error, floor 0.9 is above ceiling 0.5"),
    ({"metrics": {"classification": {"f1": {"direction": "higher", "max_regression": -1}}}},
     "gate.metrics.classification.f1.max_regression: Input should be greater than or equal to 0"),
    ({"bootstrap": {"confidence": 1.5}}, "gate.bootstrap.confidence: Input should be less than 1"),
    ({"report": {"max_chars": 100000}}, "gate.report.max_chars: Input should be less than or equal to 65536"),
    ({"bootstrap": {"resamples": 10, "sed": 1}}, "gate.bootstrap.sed: unknown key"),
])
def test_the_policy_is_validated_with_key_paths(gate: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.validate(_params(gate))


def test_the_default_policy_works_for_both_tasks() -> None:
    params = config.validate(_params({}))
    assert set(policy.for_task(params.gate.metrics, params.data.task)) == {"roc_auc", "accuracy", "f1", "log_loss"}
    assert set(params.gate.metrics.regression) == {"rmse", "r2"}
