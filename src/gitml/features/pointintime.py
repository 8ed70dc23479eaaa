"""Point-in-time correct training sets: feature views joined to labels as of each label's time.

A feature view is a table of (entity, event time, feature values). For each label row,
each view contributes the latest values of the same entity whose event time is at or
before the label's time (`pandas.merge_asof`, `direction="backward"`), and nothing older
than the view's time-to-live: such values count as missing. So a training set never
holds a value recorded after the moment the label describes. `build` with `as_of`
rebuilds the training set as it could have been built at that moment: labels and feature
rows with later timestamps are left out.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gitml.config import Features, FeatureView, LabelTable, duration_seconds
from gitml.core import io
from gitml.core.errors import ConfigError, DataError
from gitml.core.text import quoted

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

_ROW = "__gitml_label_row__"


def view_columns(view: FeatureView, frame: pd.DataFrame) -> list[str]:
    """The feature columns a view contributes: declared, or every column but entity and time."""
    if view.features:
        return list(view.features)
    return [name for name in frame.columns if name not in {view.entity, view.timestamp}]


def as_of_join(
    labels: pd.DataFrame, entity: str, timestamp: str, view: FeatureView, frame: pd.DataFrame
) -> pd.DataFrame:
    """`labels` (row order kept) with the view's features as of each label's time; no later value can appear."""
    import pandas as pd

    wanted = view_columns(view, frame)
    missing = [name for name in (view.entity, view.timestamp, *wanted) if name not in frame.columns]
    if missing:
        raise DataError(f"feature view {view.name!r}: columns {missing} are missing from {view.path}")
    clash = [name for name in wanted if name in labels.columns]
    if clash:
        raise DataError(f"feature view {view.name!r}: features {clash} clash with label table columns")
    right = frame[[view.entity, view.timestamp, *wanted]].rename(
        columns={view.entity: entity, view.timestamp: "__gitml_event_time__"}
    )
    right = right.dropna(subset=[entity, "__gitml_event_time__"])
    left = labels.assign(**{_ROW: range(len(labels))})
    tolerance = pd.Timedelta(seconds=duration_seconds(view.ttl)) if view.ttl else None
    try:
        joined = pd.merge_asof(
            left.sort_values(timestamp, kind="stable"),
            right.sort_values("__gitml_event_time__", kind="stable"),
            left_on=timestamp,
            right_on="__gitml_event_time__",
            by=entity,
            direction="backward",
            allow_exact_matches=True,
            tolerance=tolerance,
        )
    except (TypeError, ValueError, pd.errors.MergeError) as exc:
        reason = str(exc).splitlines()[0]
        raise DataError(f"feature view {view.name!r}: cannot join to the labels on {entity!r}: {reason}") from exc
    joined = joined.sort_values(_ROW).drop(columns=[_ROW, "__gitml_event_time__"])
    return joined.reset_index(drop=True)


def _timestamps(frame: pd.DataFrame, column: str, where: str) -> pd.DataFrame:
    import pandas as pd

    if column not in frame.columns:
        raise DataError(f"{where}: timestamp column {column!r} is missing")
    try:
        values = pd.to_datetime(frame[column])
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: column {column!r} does not hold timestamps: {exc}") from exc
    return frame.assign(**{column: values})


def parse_as_of(text: str | None) -> pd.Timestamp | None:
    """`--as-of` as a timestamp; None means now, that is: everything."""
    import pandas as pd

    if text is None:
        return None
    try:
        return pd.Timestamp(text)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--as-of: not a timestamp: {quoted(text)} (e.g. 2024-06-30 or 2024-06-30T12:00:00Z)") \
            from exc


def _before(frame: pd.DataFrame, column: str, as_of: pd.Timestamp | None) -> pd.DataFrame:
    if as_of is None:
        return frame
    values = frame[column]
    limit = as_of
    if values.dt.tz is not None and limit.tzinfo is None:
        limit = limit.tz_localize(values.dt.tz)
    elif values.dt.tz is None and limit.tzinfo is not None:
        limit = limit.tz_convert("UTC").tz_localize(None)
    return frame[values <= limit]


def build(features: Features, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """The training set: every label (at or before `as_of`) with every view's features as of its time."""
    labels_cfg: LabelTable | None = features.labels
    if labels_cfg is None or not features.views:
        raise ConfigError("features.labels / features.views: declare a label table and feature views to build from")
    labels = _timestamps(io.read_table(labels_cfg.path), labels_cfg.timestamp, labels_cfg.path)
    if labels_cfg.entity not in labels.columns:
        raise DataError(f"{labels_cfg.path}: entity column {labels_cfg.entity!r} is missing")
    labels = _before(labels.dropna(subset=[labels_cfg.timestamp]), labels_cfg.timestamp, as_of)
    result = labels.reset_index(drop=True)
    for view in features.views:
        frame = _timestamps(io.read_table(view.path), view.timestamp, view.path)
        frame = _before(frame.dropna(subset=[view.timestamp]), view.timestamp, as_of)
        result = as_of_join(result, labels_cfg.entity, labels_cfg.timestamp, view, frame)
        log.info("joined view %r: %d labels", view.name, len(result))
    return result
