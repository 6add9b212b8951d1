"""BatchScoringService/ScoreStream through Client.score_stream."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

import bankscore


@pytest.fixture
def client(server, tokens):
    with bankscore.Client(server.target, token=tokens["scorer"]) as c:
        yield c


@pytest.fixture(scope="module")
def profiles(generated_csv) -> list[dict]:
    """The 5,000 generated customers as profile dicts (numpy scalars, booleans as 0/1)."""
    frame = pd.read_csv(generated_csv, dtype={"customer_id": str}).drop(columns=["churned"])
    return frame.to_dict("records")


def test_5000_profiles_in_order_with_bad_records_in_the_middle(client, profiles):
    sent = [dict(p) for p in profiles]
    sent[1234]["age_years"] = 7  # refused by the server
    del sent[2500]["tenure_months"]  # refused by the server: missing
    sent[3000]["products_held"] = "three"  # refused by the client, never sent
    sent[4999]["total_balance"] = float("nan")  # the last record, refused as missing
    stream = client.score_stream(iter(sent), chunk=700)
    results = list(stream)

    assert len(results) == 5000
    assert [r["record_id"] for r in results] == [str(i) for i in range(5000)]
    errors = {i: r["error"] for i, r in enumerate(results) if "error" in r}
    assert errors == {
        1234: {"field": "profile.age_years", "reason": "7 is outside 18..=120"},
        2500: {"field": "profile.tenure_months", "reason": "is required"},
        3000: {"field": "profile.products_held", "reason": "'three' (str) is not a whole number"},
        4999: {"field": "profile.total_balance", "reason": "is required"},
    }
    assert all("assessment" in r for i, r in enumerate(results) if i not in errors)
    assert stream.model is not None and stream.model["version"] == "v1"
    for i in (0, 1233, 1235, 2501, 4998):  # the records after a bad one are scored as alone
        alone = client.score(profiles[i])
        a = results[i]["assessment"]
        assert a["churn_probability"] == alone["churn"]["probability"]
        assert a["value"]["value_at_risk"] == alone["value"]["value_at_risk"]
        assert a["tier"] == alone["tier"]["tier"]
        best = alone["decision"].get("best", {}).get("action_id", "")
        assert a["best_action_id"] == (best if alone["decision"]["kind"] == "DECISION_KIND_TAKE_ACTION" else "")


def test_reads_its_input_lazily(client, customer):
    consumed = itertools.count()

    def endless():
        for i in itertools.count():
            next(consumed)
            if i >= 1_000_000:
                raise AssertionError("score_stream read far ahead of its results")
            yield customer

    stream = client.score_stream(endless(), chunk=500)
    first = list(itertools.islice(stream, 1500))
    stream.close()
    assert [r["record_id"] for r in first] == [str(i) for i in range(1500)]
    assert next(consumed) < 200_000


def test_reasons_and_one_record_chunks(client, customer):
    results = list(client.score_stream([customer] * 3, chunk=1, max_reasons=2))
    assert [len(r["assessment"]["top_reasons"]) for r in results] == [2, 2, 2]
    assert results[0]["assessment"]["top_reasons"][0]["feature"] == "open_complaint"


def test_empty_input(client):
    assert list(client.score_stream([])) == []


def test_only_locally_refused_records(client, customer):
    results = list(client.score_stream([{**customer, "age_years": -3}, {"nope": 1}]))
    assert [r["record_id"] for r in results] == ["0", "1"]
    assert [r["error"]["field"] for r in results] == ["profile.age_years", "profile.nope"]


@pytest.mark.parametrize("chunk", [0, -1, 10_001, 2.5, True, "100"])
def test_chunk_outside_1_to_10000_is_a_value_error(client, customer, chunk):
    with pytest.raises(ValueError, match=r"chunk must be a whole number of records in 1\.\.=10000"):
        client.score_stream([customer], chunk=chunk)


def test_chunk_of_10000_is_accepted(client, customer):
    results = list(client.score_stream(itertools.repeat(customer, 10_000), chunk=10_000))
    assert len(results) == 10_000 and all("assessment" in r for r in results)


def test_unknown_model_version_fails_the_stream(client, customer):
    with pytest.raises(bankscore.NotFound):
        list(client.score_stream([customer], model_version="v999"))


def test_failing_input_yields_what_came_before_then_raises(client, customer):
    def broken():
        yield from [customer] * 10
        raise RuntimeError("the source broke")

    seen = []
    with pytest.raises(RuntimeError, match="the source broke"):
        for result in client.score_stream(broken(), chunk=4):
            seen.append(result["record_id"])
    assert seen == [str(i) for i in range(10)]
