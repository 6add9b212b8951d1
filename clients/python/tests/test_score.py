"""One customer at a time: Score and the other unary RPCs, errors, tokens, health and models."""

from __future__ import annotations

import json
import socket
import subprocess

import grpc
import numpy as np
import pytest

import bankscore
from conftest import CUSTOMER_JSON, clean_env


@pytest.fixture
def client(server, tokens):
    with bankscore.Client(server.target, token=tokens["scorer"]) as c:
        yield c


def cli_score(binary, server, token) -> dict:
    """What `bankscore call score --profile examples/customer.json` prints (proto3 JSON, camelCase)."""
    done = subprocess.run(
        [str(binary), "call", "score", "--profile", str(CUSTOMER_JSON), "--target", f"http://{server.address}",
         "--token", token],
        capture_output=True, text=True, timeout=30, check=True, env=clean_env(),
    )
    return json.loads(done.stdout)


def test_score_matches_bankscore_call(client, customer, binary, server, tokens):
    reply = client.score(customer)
    cli = cli_score(binary, server, tokens["scorer"])
    assert reply["model"] == cli["model"]
    assert reply["tier"]["tier"] == cli["tier"]["tier"] == "VALUE_TIER_A"
    assert reply["tier"]["rule"] == cli["tier"]["rule"]
    assert reply["churn"]["probability"] == cli["churn"]["probability"]
    assert reply["churn"]["horizon_months"] == cli["churn"]["horizonMonths"]
    assert [r["feature"] for r in reply["churn"]["top_reasons"]] == [r["feature"] for r in cli["churn"]["topReasons"]]
    assert reply["value"]["value_at_risk"] == cli["value"]["valueAtRisk"]
    assert reply["value"]["total"] == cli["value"]["total"]
    assert reply["decision"]["kind"] == cli["decision"]["kind"] == "DECISION_KIND_TAKE_ACTION"
    assert reply["decision"]["best"]["action_id"] == cli["decision"]["best"]["actionId"] == "resolve_complaint"
    assert reply["decision"]["best"]["expected_value"] == cli["decision"]["best"]["expectedValue"]
    assert [a["action_id"] for a in reply["decision"]["ranked"]] == [a["actionId"] for a in cli["decision"]["ranked"]]
    # Fields at their default are present (key_account False), snake_case keys throughout.
    assert reply["tier"]["key_account"] is False
    assert reply["decision"]["explored"] is False
    assert reply["decision"]["ineligible"] == []


def test_score_request_options(client, customer):
    reply = client.score(customer, request_id="py-1", max_reasons=5, include_ineligible=True, model_version="v1")
    assert reply["request_id"] == "py-1"
    assert len(reply["churn"]["top_reasons"]) == 5
    assert reply["decision"]["ineligible"], "include_ineligible lists the excluded actions"
    assert all(i["rule"].startswith("ELIGIBILITY_RULE_") for i in reply["decision"]["ineligible"])
    assert reply["model"]["version"] == "v1"
    assert client.score(customer)["request_id"], "the server assigns a request id"


def test_numpy_scalars_and_01_booleans(client, customer):
    plain = client.score(customer)["churn"]["probability"]
    converted = {}
    for key, value in customer.items():
        if isinstance(value, bool):
            converted[key] = np.bool_(value)
        elif isinstance(value, int):
            converted[key] = np.int64(value)
        elif isinstance(value, float):
            converted[key] = np.float64(value)
        else:
            converted[key] = value
    assert client.score(converted)["churn"]["probability"] == plain
    as_01 = {k: int(v) if isinstance(v, bool) else v for k, v in customer.items()}
    as_01["age_years"] = float(customer["age_years"])  # a count as a whole float, as pandas gives with gaps
    assert client.score(as_01)["churn"]["probability"] == plain


def test_other_unary_rpcs_agree_with_score(client, customer):
    full = client.score(customer)
    assert client.predict_churn(customer, max_reasons=2)["churn"]["probability"] == full["churn"]["probability"]
    tier = client.classify_value_tier(customer)
    assert tier["tier"]["tier"] == full["tier"]["tier"]
    assert tier["churn_probability"] == full["churn"]["probability"]
    action = client.recommend_retention_action(customer)
    assert action["decision"]["best"]["action_id"] == full["decision"]["best"]["action_id"]
    assert action["tier"] == full["tier"]["tier"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"age_years": 7}, "profile.age_years: 7 is outside 18..=120"),
        ({"tenure_months": None}, "profile.tenure_months: is required"),
        ({"total_balance": float("nan")}, "profile.total_balance: is required"),
        ({"total_balance": float("inf")}, "profile.total_balance: inf is not a finite number"),
        ({"customer_id": ""}, "profile.customer_id: is required"),
    ],
)
def test_bad_profile_raises_invalid_argument_naming_the_field(client, customer, change, message):
    profile = {**customer, **change}
    with pytest.raises(bankscore.InvalidArgument) as info:
        client.score(profile)
    error = info.value
    assert isinstance(error, bankscore.BankscoreError)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.message == message
    assert error.field == message.split(":")[0]


def test_missing_key_is_refused_by_the_server(client, customer):
    profile = dict(customer)
    del profile["days_since_last_activity"]
    with pytest.raises(bankscore.InvalidArgument, match=r"profile\.days_since_last_activity: is required"):
        client.score(profile)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"agee_years": 42}, "profile.agee_years"),
        ({"age_years": "42"}, "profile.age_years"),
        ({"age_years": -1}, "profile.age_years"),
        ({"age_years": 42.5}, "profile.age_years"),
        ({"open_complaint": 2}, "profile.open_complaint"),
        ({"total_balance": True}, "profile.total_balance"),
        ({"extra_features": {"x": "high"}}, "profile.extra_features.x"),
    ],
)
def test_profile_the_client_cannot_encode_raises_invalid_argument(client, customer, change, field):
    with pytest.raises(bankscore.InvalidArgument) as info:
        client.score({**customer, **change})
    assert info.value.field == field


def test_no_token_or_wrong_token_is_unauthenticated(server, customer):
    for token in (None, "0" * 64):
        with bankscore.Client(server.target, token=token) as c:
            with pytest.raises(bankscore.Unauthenticated) as info:
                c.score(customer)
            assert info.value.code == grpc.StatusCode.UNAUTHENTICATED
            assert info.value.message
            with pytest.raises(bankscore.Unauthenticated):
                list(c.score_stream([customer]))


def test_roles(server, tokens, customer):
    with bankscore.Client(server.target, token=tokens["scorer"]) as scorer:
        with pytest.raises(bankscore.PermissionDenied) as info:
            scorer.models()
        assert info.value.code == grpc.StatusCode.PERMISSION_DENIED
    with bankscore.Client(server.target, token=tokens["admin"]) as admin:
        models = admin.models()
        assert models["model_name"] == "churn"
        states = {v["version"]: v["state"] for v in models["versions"]}
        assert states["v1"] == "VERSION_STATE_CHAMPION"
        assert isinstance(models["reloads_total"], int)
        with pytest.raises(bankscore.PermissionDenied):
            admin.score(customer)


def test_unknown_model_version_is_not_found(client, customer):
    with pytest.raises(bankscore.NotFound) as info:
        client.score(customer, model_version="v999")
    assert "v999" in info.value.message


def test_ready_needs_no_token(server):
    with bankscore.Client(server.target) as c:
        assert c.ready() is True
        assert c.ready("") is True
        assert c.ready("no.such.Service") is False


def test_unreachable_server(customer):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the client connects
    with bankscore.Client(f"127.0.0.1:{port}", token="t", timeout=5) as c:
        assert c.ready(timeout=2) is False
        with pytest.raises(bankscore.Unavailable):
            c.score(customer)
