"""``Client.score_frame``: a pandas DataFrame of customers in, one of assessments out."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import _profile
from .errors import Internal
from .v1 import scoring_pb2

if TYPE_CHECKING:
    import pandas

    from .client import Client

_TIERS = {
    scoring_pb2.VALUE_TIER_A: "A",
    scoring_pb2.VALUE_TIER_B: "B",
    scoring_pb2.VALUE_TIER_C: "C",
    scoring_pb2.VALUE_TIER_SLEEPING: "sleeping",
}
_TYPED, _EXTRA, _EXTRA_DICT = 0, 1, 2
_NAN = math.nan


def _plan(pd: Any, df: pandas.DataFrame) -> list[tuple[int, str]]:
    """What each column becomes: a typed field, an extra feature, or the extra_features dicts."""
    columns = list(df.columns)
    if len(set(columns)) != len(columns):
        dupes = sorted({str(c) for c in columns if columns.count(c) > 1})
        raise ValueError(f"the frame has duplicate columns: {', '.join(dupes)}")
    plan = []
    for column in columns:
        if not isinstance(column, str):
            raise ValueError(f"column {column!r}: column names must be profile field names (strings)")
        if column in _profile.PROFILE_FIELDS:
            plan.append((_TYPED, column))
        elif column == "extra_features":
            plan.append((_EXTRA_DICT, column))
        else:
            dtype = df[column].dtype
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
                raise ValueError(
                    f"column {column!r} ({dtype}) is not a CustomerProfile field, so it would be sent as an "
                    "extra feature, and extra features are numbers: drop it or convert it"
                )
            plan.append((_EXTRA, column[len("extra.") :] if column.startswith("extra.") else column))
    return plan


def _profiles(df: pandas.DataFrame, plan: list[tuple[int, str]]) -> Iterator[dict[str, Any]]:
    """One profile dict per row, made as the stream asks for it."""
    for values in df.itertuples(index=False, name=None):
        profile: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        for (kind, name), value in zip(plan, values):
            if kind == _TYPED:
                profile[name] = value
            elif kind == _EXTRA:
                extras[name] = value
            elif isinstance(value, Mapping):
                extras.update(value)
            elif not _profile.is_missing(value):
                profile["extra_features"] = value  # refused by the conversion, naming the field
        if extras and "extra_features" not in profile:
            profile["extra_features"] = extras
        yield profile


def score_frame(
    client: Client,
    df: pandas.DataFrame,
    chunk: int,
    model_version: str,
    max_reasons: int,
    timeout: float | None,
) -> pandas.DataFrame:
    """See Client.score_frame."""
    try:
        import numpy as np
        import pandas as pd
    except ImportError:
        raise ImportError("score_frame needs pandas: pip install 'bankscore[pandas]'") from None
    from .client import _stream, to_dict

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"score_frame takes a pandas DataFrame, not {type(df).__name__}")
    plan = _plan(pd, df)
    names = [
        "churn_probability",
        "value_tier",
        "key_account",
        "realized_value",
        "potential_value",
        "influence_value",
        "total_value",
        "value_at_risk",
        "best_action_id",
        "best_expected_value",
        "propensity",
        "control_group",
        "withheld_action_id",
        "candidates",
    ]
    for k in range(1, max_reasons + 1):
        names += [f"reason_{k}", f"reason_{k}_contribution"]
    names += ["error_field", "error"]
    out: dict[str, list[Any]] = {name: [] for name in names}
    missing = dict.fromkeys(names, None)
    for name in ("churn_probability", "realized_value", "potential_value", "influence_value", "total_value",
                 "value_at_risk", "best_expected_value", "propensity"):
        missing[name] = _NAN
    for k in range(1, max_reasons + 1):
        missing[f"reason_{k}_contribution"] = _NAN
    model: dict[str, Any] = {}

    def set_model(ref: scoring_pb2.ModelRef) -> None:
        model.update(to_dict(ref))

    for result in _stream(client, _profiles(df, plan), chunk, model_version, max_reasons, timeout, set_model):
        if result.WhichOneof("outcome") == "assessment":
            a = result.assessment
            row = {
                "churn_probability": a.churn_probability,
                "value_tier": _TIERS.get(a.tier, ""),
                "key_account": a.key_account,
                "realized_value": a.value.realized,
                "potential_value": a.value.potential,
                "influence_value": a.value.influence,
                "total_value": a.value.total,
                "value_at_risk": a.value.value_at_risk,
                "best_action_id": a.best_action_id,
                "best_expected_value": a.best_expected_value,
                "propensity": a.propensity,
                "control_group": a.control_group,
                "withheld_action_id": a.withheld_action_id,
                "candidates": [
                    {"action_id": c.action_id, "expected_value": c.expected_value, "cost": c.cost} for c in a.candidates
                ],
                "error_field": "",
                "error": "",
            }
            for k in range(1, max_reasons + 1):
                reason = a.top_reasons[k - 1] if k <= len(a.top_reasons) else None
                row[f"reason_{k}"] = reason.feature if reason else None
                row[f"reason_{k}_contribution"] = reason.contribution if reason else _NAN
        else:
            e = result.error
            row = dict(missing, error_field=e.field, error=f"{e.field}: {e.reason}" if e.field else e.reason)
        for name in names:
            out[name].append(row[name])
    if len(out["error"]) != len(df):
        raise Internal(f"{len(out['error'])} results for {len(df)} rows")
    columns: dict[str, Any] = {}
    if "customer_id" in df.columns:
        columns["customer_id"] = [None if _profile.is_missing(v) else v for v in df["customer_id"]]
    else:
        columns["customer_id"] = [None] * len(df)
    for name in names:
        values = out[name]
        if name in ("key_account", "control_group"):
            columns[name] = pd.array(values, dtype="boolean")
        elif name in ("churn_probability", "realized_value", "potential_value", "influence_value", "total_value",
                      "value_at_risk", "best_expected_value", "propensity") or name.endswith("_contribution"):
            columns[name] = np.asarray(values, dtype=np.float64)
        else:
            columns[name] = values
    result = pd.DataFrame(columns, index=df.index)
    result.attrs["model"] = model
    return result
