"""The declared features: which columns the model reads, and the preprocessing they compile to.

The `features` config — per-role steps, per column or group steps, derived columns,
drops — is compiled into one scikit-learn ColumnTransformer (behind a `DerivedColumns`
step when expressions are declared) that is fitted inside the model pipeline, so
training and serving apply exactly the same transforms. `problems` finds every mistake
in that config before any stage runs, for `gitml check`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitml.config import Contract, Features, targets
from gitml.core.errors import ConfigError, ExpressionError
from gitml.features import expressions

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

#: The roles whose preprocessing steps `features` configures.
ROLES = ("numeric", "categorical")
#: What a datetime column becomes before its numeric steps.
CALENDAR = "gitml.features.transforms.Calendar"
#: What categorical columns pass through before their steps (`gitml.features.transforms.Categories`).
CATEGORIES = "gitml.features.transforms.Categories"

#: What each shorthand `kind` compiles to: a `_target_` and its default arguments.
SHORTHANDS: dict[str, tuple[str, dict[str, Any]]] = {
    "impute": ("sklearn.impute.SimpleImputer", {}),
    "scale": ("sklearn.preprocessing.StandardScaler", {}),
    "onehot": ("sklearn.preprocessing.OneHotEncoder",
               {"handle_unknown": "infrequent_if_exist", "max_categories": 50, "sparse_output": False}),
    "ordinal": ("sklearn.preprocessing.OrdinalEncoder", {"handle_unknown": "use_encoded_value", "unknown_value": -1}),
    "log": ("gitml.features.transforms.Log", {}),
    "clip": ("gitml.features.transforms.Clip", {}),
    "bucketize": ("gitml.features.transforms.Bucketize", {}),
}


def step_spec(step: dict[str, Any]) -> dict[str, Any]:
    """A step as a plain `_target_` spec: a `kind` shorthand expanded, anything else as written."""
    if "kind" not in step:
        return dict(step)
    target, defaults = SHORTHANDS[step["kind"]]
    return {"_target_": target, **defaults, **{k: v for k, v in step.items() if k != "kind"}}


def input_columns(contract: Contract, target: str, features: Features) -> dict[str, list[str]]:
    """The model's raw input columns by role (numeric, categorical, datetime), in contract order.

    Without the target, drops, identifiers and dates left out of the model (`calendar: []`).
    A dropped column that a derived expression reads stays an input: the model needs it
    to compute the derived column, but does not use it as a feature itself.
    """
    unknown = [name for name in features.drop if name not in contract.columns]
    if unknown:
        raise ConfigError(f"features.drop: columns not in the data contract: {unknown}")
    needed: set[str] = set()
    for derived in features.derived:
        try:
            needed.update(expressions.parse(derived.expr).columns)
        except ExpressionError:
            continue  # reported by `problems`; the raw inputs do not depend on it
    roles: dict[str, list[str]] = {"numeric": [], "categorical": [], "datetime": []}
    for name, spec in contract.columns.items():
        if name != target and spec.feature and (name not in features.drop or name in needed):
            roles[spec.role].append(name)
    return roles


def calendar_step(contract: Contract, name: str) -> dict[str, Any]:
    """The step that turns a datetime column into its calendar parts, as a `_target_` spec."""
    return {"_target_": CALENDAR, "parts": contract.columns[name].parts}


def raw_columns(contract: Contract, target: str, features: Features) -> list[str]:
    """The model's raw input columns in role order: what the split files and the signature hold."""
    return [name for names in input_columns(contract, target, features).values() for name in names]


def feature_columns(columns: dict[str, list[str]], features: Features) -> dict[str, list[str]]:
    """The columns the preprocessing transforms, by role: inputs without drops, then derived columns."""
    roles = {role: [name for name in columns.get(role, []) if name not in features.drop]
             for role in (*ROLES, "datetime")}
    for derived in features.derived:
        roles[derived.role].append(derived.name)
    return roles


def build_steps(specs: list[dict[str, Any]], key: str, allowed: list[str]) -> Any:
    """The steps as one Pipeline (or "passthrough"); a step that is not a transformer is a ConfigError."""
    from sklearn.pipeline import make_pipeline

    if not specs:
        return "passthrough"
    expanded = [step_spec(spec) for spec in specs]
    steps = [targets.instantiate(spec, f"{key}[{i}]", allowed) for i, spec in enumerate(expanded)]
    for i, step in enumerate(steps):
        if not hasattr(step, "fit") or not hasattr(step, "transform"):
            raise ConfigError(
                f"{key}[{i}]._target_: {expanded[i]['_target_']!r} is not a transformer (no fit/transform)"
            )
    return make_pipeline(*steps)


def _role_steps(role: str, features: Features, allowed: list[str]) -> Any:
    """A role's steps; categorical columns pass through `Categories` first (missing values as NaN, bools as objects)."""
    from sklearn.pipeline import make_pipeline

    steps = build_steps(getattr(features, role), f"features.{role}", allowed)
    if role != "categorical":
        return steps
    categories = targets.instantiate({"_target_": CATEGORIES}, "features.categorical", allowed)
    return make_pipeline(categories, *([] if steps == "passthrough" else [step for _, step in steps.steps]))


def preprocessor(columns: dict[str, list[str]], features: Features, allowed: list[str],
                 contract: Contract | None = None) -> Any:
    """The unfitted preprocessing: a ColumnTransformer, behind `DerivedColumns` when expressions are declared.

    Each group in `features.transforms` gets its own steps; every other feature column
    gets its role's steps, and a datetime column its calendar parts (from `contract`)
    followed by the numeric steps. Columns not named anywhere (drops, the target) are dropped.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    grouped = {name for group in features.transforms for name in group.columns}
    roles = feature_columns(columns, features)
    parts = [
        (role, _role_steps(role, features, allowed), rest)
        for role in ROLES
        if (rest := [name for name in roles[role] if name not in grouped])
    ]
    for name in (name for name in roles["datetime"] if name not in grouped):
        if contract is None:
            raise ConfigError(f"{name}: a datetime column needs the data contract's calendar parts")
        calendar = targets.instantiate(calendar_step(contract, name), f"data.contract.columns.{name}", allowed)
        numeric = build_steps(features.numeric, "features.numeric", allowed)
        parts.append((f"calendar_{name}", Pipeline([("calendar", calendar), ("numeric", numeric)]), [name]))
    for i, group in enumerate(features.transforms):
        steps = build_steps(group.steps, f"features.transforms[{i}].steps", allowed)
        parts.append((group.name or f"transforms_{i}", steps, list(group.columns)))
    transformer: ColumnTransformer = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)
    if not features.derived:
        return transformer
    from gitml.features.transforms import DerivedColumns

    derive = DerivedColumns(expressions={d.name: d.expr for d in features.derived})
    return Pipeline([("derive", derive), ("columns", transformer)])


def problems(contract: Contract | None, target: str, features: Features, allowed: list[str]) -> list[str]:
    """Every mistake in the features config, one line each with its key path (for `gitml check`).

    Without a contract (it has its own problem) only the steps and views are checked.
    """
    specs = [(f"features.transforms[{i}].steps", g.steps) for i, g in enumerate(features.transforms)]
    specs += [(f"features.{role}", getattr(features, role)) for role in ROLES]
    steps = [problem for key, spec in specs for problem in _build_problems(spec, key, allowed)]
    if contract is None:
        return steps + view_problems(features)
    try:
        columns = input_columns(contract, target, features)
    except ConfigError as exc:
        return [str(exc), *steps, *view_problems(features)]
    return _column_problems(contract, target, features, columns) + steps + view_problems(features)


def _column_problems(contract: Contract, target: str, features: Features, columns: dict[str, list[str]]) -> list[str]:
    """Derived expressions, groups, docs and dedup naming columns that are missing, dropped or duplicated."""
    found: list[str] = []
    known = {name: spec.role for name, spec in contract.columns.items() if name != target}
    numeric = {name for name, spec in contract.columns.items() if spec.dtype in {"float", "int", "bool"}}
    for i, derived in enumerate(features.derived):
        key = f"features.derived[{i}]"
        clash = "the target" if derived.name == target else _clash(derived.name, contract, known)
        if clash:
            found.append(f"{key}.name: duplicate feature name {derived.name!r} (already {clash})")
        try:
            reads = expressions.parse(derived.expr).columns
        except ExpressionError as exc:
            found.append(f"{key}.expr: cannot parse {derived.expr!r}: {exc}")
            reads = ()
        for name in reads:
            if name == target:
                found.append(f"{key}.expr: reads the target column {name!r} (it would leak the label)")
            elif name not in known:
                found.append(f"{key}.expr: column {name!r} is not in the data contract or derived before it")
            elif name not in numeric:
                found.append(f"{key}.expr: column {name!r} is not numeric; expressions compute on numbers")
        if not clash:
            known[derived.name] = derived.role
            numeric.add(derived.name)
    active = {name for names in feature_columns(columns, features).values() for name in names}
    owner: dict[str, str] = {}
    for i, group in enumerate(features.transforms):
        key = f"features.transforms[{i}]"
        for name in group.columns:
            if name in features.drop:
                found.append(f"{key}.columns: {name!r} is dropped (features.drop)")
            elif name not in active:
                found.append(f"{key}.columns: column {name!r} is not in the data contract or features.derived")
            elif name in owner:
                found.append(f"{key}.columns: duplicate feature name {name!r} (already in {owner[name]})")
            else:
                owner[name] = key
    names = [group.name for group in features.transforms if group.name] + list(ROLES)
    for name in sorted({n for n in names if names.count(n) > 1}):
        found.append(f"features.transforms: duplicate group name {name!r}")
    found.extend(f"features.docs: {name!r} is not a feature" for name in features.docs if name not in active)
    found.extend(
        f"features.dedup.subset: column {name!r} is not in the data contract"
        for name in features.dedup.subset
        if name not in contract.columns
    )
    return found


def view_problems(features: Features) -> list[str]:
    """Duplicate view or feature names across the point-in-time feature views."""
    found: list[str] = []
    seen_views: set[str] = set()
    seen_features: dict[str, str] = {}
    for i, view in enumerate(features.views):
        key = f"features.views[{i}]"
        if view.name in seen_views:
            found.append(f"{key}.name: duplicate view name {view.name!r}")
        seen_views.add(view.name)
        for name in view.features:
            if name in {view.entity, view.timestamp}:
                found.append(f"{key}.features: {name!r} is the view's entity or timestamp column")
            elif name in seen_features:
                earlier = seen_features[name]
                found.append(f"{key}.features: duplicate feature name {name!r} (already in view {earlier!r})")
            else:
                seen_features[name] = view.name
    if features.views and features.labels is None:
        found.append("features.labels: feature views need a label table to join to")
    return found


def _clash(name: str, contract: Contract, known: dict[str, str]) -> str:
    if name in contract.columns:
        return "a column of the data contract"
    return "an earlier derived feature" if name in known else ""


def _build_problems(specs: list[dict[str, Any]], key: str, allowed: list[str]) -> list[str]:
    try:
        build_steps(specs, key, allowed)
    except ConfigError as exc:
        return [str(exc)]
    return []
