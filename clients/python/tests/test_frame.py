"""Client.score_frame: a DataFrame of customers in, one of assessments out."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

import bankscore
from conftest import MODELS, clean_env


@pytest.fixture
def client(server, tokens):
    with bankscore.Client(server.target, token=tokens["scorer"]) as c:
        yield c


@pytest.fixture(scope="module")
def frame(generated_csv) -> pd.DataFrame:
    """The first 1,200 generated customers, under an index of their own (not 0..n)."""
    df = pd.read_csv(generated_csv, dtype={"customer_id": str}, nrows=1200).drop(columns=["churned"])
    df.index = pd.Index([f"row-{i}" for i in range(len(df))][::-1], name="key")
    return df


def test_same_index_order_and_probabilities_as_score(client, frame):
    df = frame.copy()
    df["age_years"] = df["age_years"].astype("float64")
    df.loc["row-100", "age_years"] = np.nan  # a gap in a required field: refused by the server
    df.loc["row-200", "age_years"] = 7
    result = client.score_frame(df, chunk=500)

    assert len(result) == len(df)
    assert result.index.equals(df.index)
    assert list(result["customer_id"]) == list(df["customer_id"])
    for column in ("churn_probability", "value_tier", "value_at_risk", "total_value", "best_action_id",
                   "best_expected_value", "error"):
        assert column in result.columns
    errors = result[result["error"] != ""]
    assert list(errors.index) == ["row-200", "row-100"]  # in frame order
    assert errors.loc["row-100", "error"] == "profile.age_years: is required"
    assert errors.loc["row-200", "error"] == "profile.age_years: 7 is outside 18..=120"
    assert errors.loc["row-200", "error_field"] == "profile.age_years"
    assert errors["churn_probability"].isna().all()
    scored = result[result["error"] == ""]
    assert len(scored) == len(df) - 2
    assert scored["churn_probability"].between(0, 1).all()
    assert set(scored["value_tier"]) <= {"A", "B", "C", "sleeping"}
    assert result.attrs["model"]["version"] == "v1"

    for key in ("row-0", "row-1", "row-101", "row-1199"):
        row = frame.loc[key]
        alone = client.score(row.to_dict())
        assert result.loc[key, "churn_probability"] == alone["churn"]["probability"]
        assert result.loc[key, "value_at_risk"] == alone["value"]["value_at_risk"]
        assert result.loc[key, "total_value"] == alone["value"]["total"]
        best = alone["decision"]["best"]["action_id"] if alone["decision"]["kind"] == "DECISION_KIND_TAKE_ACTION" else ""
        assert result.loc[key, "best_action_id"] == best


def test_matches_offline_bankscore_score(client, binary, frame, generated_csv, tmp_path):
    """The same customers scored by `bankscore score` (offline) and over the stream agree."""
    head = tmp_path / "head.csv"
    pd.read_csv(generated_csv, dtype={"customer_id": str}, nrows=1200).to_csv(head, index=False)
    out = tmp_path / "scored.csv"
    subprocess.run(
        [str(binary), "score", "--input", str(head), "--out", str(out), "--models-dir", str(MODELS), "--threads", "1"],
        capture_output=True, timeout=120, check=True, env=clean_env(),
    )
    offline = pd.read_csv(out, dtype={"customer_id": str, "tier": str})
    result = client.score_frame(frame.reset_index(drop=True))
    assert list(offline["customer_id"]) == list(result["customer_id"])
    np.testing.assert_allclose(result["churn_probability"], offline["churn_probability"], rtol=1e-12)
    np.testing.assert_allclose(result["value_at_risk"], offline["value_at_risk"], rtol=1e-12)
    assert list(result["value_tier"]) == list(offline["tier"])
    assert list(result["best_action_id"].replace("", "no_action")) == list(offline["best_action"])


def test_numpy_dtypes_extras_and_reasons(client, customer):
    rows = [dict(customer, customer_id=f"C{i}", age_years=30 + i) for i in range(4)]
    df = pd.DataFrame(rows).drop(columns=["extra_features"])
    df = df.astype({"age_years": "int32", "tenure_months": "uint16", "total_balance": "float32",
                    "open_complaint": "bool", "has_mortgage": "boolean", "products_held": "Int64"})
    df.loc[3, "products_held"] = pd.NA
    df["extra.segment_score"] = np.float64(0.5)  # sent as extra_features["segment_score"]
    df["branch_visits"] = np.int8(2)  # sent as extra_features["branch_visits"]
    result = client.score_frame(df, max_reasons=2)
    assert list(result["error"]) == ["", "", "", "profile.products_held: is required"]
    assert list(result["reason_1"][:3]) == ["open_complaint"] * 3
    assert result["reason_2_contribution"][:3].notna().all()
    expected = client.score(dict(rows[0], total_balance=float(np.float32(customer["total_balance"]))))
    assert result.loc[0, "churn_probability"] == expected["churn"]["probability"]


def test_text_column_that_is_no_profile_field_is_a_value_error(client, customer):
    df = pd.DataFrame([customer]).drop(columns=["extra_features"])
    df["segment"] = "retail"
    with pytest.raises(ValueError, match="'segment'"):
        client.score_frame(df)


def test_empty_frame(client, customer):
    df = pd.DataFrame([customer]).drop(columns=["extra_features"]).iloc[:0]
    result = client.score_frame(df)
    assert len(result) == 0 and "churn_probability" in result.columns
