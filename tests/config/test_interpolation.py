"""gitml.config.interpolation: params.yaml is resolved once; resolvers that build objects or read the
environment are refused where classes are named."""

from __future__ import annotations

import pytest

from gitml.config import interpolation
from gitml.core.errors import ConfigError


def test_a_file_without_interpolations_is_returned_as_it_is():
    raw = {"seed": 1, "model": {"_target_": "x"}}

    assert interpolation.resolve(raw, "params.yaml") is raw


def test_references_are_resolved_everywhere():
    raw = {"seed": 7, "model": {"random_state": "${seed}", "n": "${oc.select:nope,3}"}, "card": {"s": "${seed}"}}

    assert interpolation.resolve(raw, "p") == {"seed": 7, "model": {"random_state": 7, "n": 3}, "card": {"s": 7}}


def test_environment_resolvers_are_allowed_outside_the_guarded_sections(monkeypatch):
    monkeypatch.setenv("GITML_TEST_OWNER", "ada")

    assert interpolation.resolve({"card": {"owner": "${oc.env:GITML_TEST_OWNER}"}}, "p") == {"card": {"owner": "ada"}}


@pytest.mark.parametrize(("section", "value", "resolver"), [
    ("model", "${oc.create:{a: 1}}", "oc.create"),
    ("features", "${oc.decode:'[1]'}", "oc.decode"),
    ("tune", "x ${ oc.env : HOME } y", "oc.env"),
    ("model", "${oc.select:a,${my.custom:1}}", "my.custom"),
])
def test_resolvers_that_are_not_references_are_refused_in_guarded_sections(section, value, resolver):
    with pytest.raises(ConfigError, match=rf"^p: {section}\.x: the resolver {resolver} is refused in `{section}`"):
        interpolation.resolve({section: {"x": value}}, "p")


def test_an_interpolation_that_cannot_resolve_names_its_key():
    with pytest.raises(ConfigError, match=r"^p: card\.x: cannot resolve: .*nope"):
        interpolation.resolve({"card": {"x": "${nope.key}"}}, "p")


def test_compose_refuses_the_same_resolvers_in_conf(tmp_path):
    from gitml.config import compose

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text("seed: 1\nmodel:\n  _target_: x\n  path: ${oc.env:HOME}\n")

    with pytest.raises(ConfigError, match=r"^conf/: model\.path: the resolver oc\.env is refused in `model`"):
        compose.compose(tmp_path / "conf")
