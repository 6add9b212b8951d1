#!/usr/bin/env python3
"""The Open Inference Protocol as clients bankscore did not write see it.

Starts `bankscore serve` on 127.0.0.1:0 with a scorer token, then:
- tritonclient[grpc] (numpy in, raw_input_contents on the wire): liveness, readiness,
  server and model metadata, ModelInfer with one tensor per input and with one FP64 [N, F]
  tensor, requested outputs, version pinning, the id echoed; a bad datatype and a bad value
  in row i come back as INVALID_ARGUMENT naming the input (and row); no token is
  UNAUTHENTICATED;
- grpcio with stubs generated here from proto/ by grpcio-tools: ModelInfer with typed
  contents;
and checks that every row's outputs are exactly what bankscore.v1 Score answers for the same
customer (Score called through grpcio, one call per customer).

  oip_clients_check.py --bin target/release/bankscore --root . [--rows 300]

tritonclient registers its own `inference` messages in protobuf's default pool, so the grpcio
client, whose stubs define the same names, runs in a child process of this script
(`--grpcio-only`).

Exit 0 when every check passes; prints what failed otherwise.
"""
import argparse
import csv
import hashlib
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

import grpc
import numpy as np

import bankscore_stubs

MODEL = "churn"
FAILURES = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILURES.append(what)


def start_server(binary, root, workdir, token):
    config = os.path.join(workdir, "serve.toml")
    with open(config, "w") as f:
        f.write(
            '[[auth.tokens]]\nname = "oip-check"\n'
            f'sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\nroles = ["scorer"]\n'
        )
    log = open(os.path.join(workdir, "serve.log"), "w+")
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--models-dir", os.path.join(root, "models"),
         "--config", config, "--log-format", "text"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        m = re.search(r"bankscore serving address=(\S+)", log.read())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    log.seek(0)
    proc.kill()
    raise SystemExit(f"bankscore serve did not start:\n{log.read()}")


def read_customers(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def score_rows(channel, customers, metadata):
    """What bankscore.v1 Score answers for each customer, as the six outputs."""
    from bankscore.v1 import scoring_pb2, scoring_pb2_grpc

    scoring = scoring_pb2_grpc.ScoringServiceStub(channel)
    expected = []
    for c in customers:
        p = bankscore_stubs.profile(c)
        r = scoring.Score(scoring_pb2.ScoreRequest(profile=p), metadata=metadata, timeout=10)
        best = r.decision.best
        has_best = r.decision.HasField("best")
        tier = scoring_pb2.ValueTier.Name(r.tier.tier).removeprefix("VALUE_TIER_")
        expected.append((
            r.churn.probability,
            "sleeping" if tier == "SLEEPING" else tier,
            best.action_id if has_best else "no_action",
            best.expected_value if has_best else 0.0,
            r.value.value_at_risk,
            r.tier.key_account,
        ))
    return expected


def column(customers, name, datatype):
    """One input's values for every customer, as numpy."""
    if datatype == "BYTES":
        return np.array([c[name].encode() for c in customers], dtype=np.object_)
    if datatype == "BOOL":
        return np.array([c[name] == "1" for c in customers], dtype=np.bool_)
    values = np.array([float(c[name]) for c in customers])
    return values.astype(np.int64 if datatype == "INT64" else np.float64)


def triton_checks(target, token, customers, expected):
    import tritonclient.grpc as triton
    from tritonclient.utils import InferenceServerException

    auth = {"authorization": f"Bearer {token}"}
    tc = triton.InferenceServerClient(url=target)
    check(tc.is_server_live(headers=auth), "tritonclient: server live")
    check(tc.is_server_ready(headers=auth), "tritonclient: server ready")
    check(tc.is_model_ready(MODEL, headers=auth), "tritonclient: model ready")
    check(tc.is_model_ready(MODEL, "v1", headers=auth), "tritonclient: model v1 ready")
    check(not tc.is_model_ready(MODEL, "v404", headers=auth), "tritonclient: unknown version not ready")
    server = tc.get_server_metadata(headers=auth)
    check(server.name == "bankscore" and server.version != "",
          f"tritonclient: server metadata {server.name} {server.version} {list(server.extensions)}")
    meta = tc.get_model_metadata(MODEL, headers=auth)
    names = [t.name for t in meta.inputs]
    check(names[-1] == "customer_id" and len(names) == 23,
          f"tritonclient: 23 inputs, customer_id last ({', '.join(names[:3])}, …)")
    outputs = [t.name for t in meta.outputs]
    check(outputs == ["churn_probability", "value_tier", "best_action", "expected_value",
                      "value_at_risk", "key_account"], f"tritonclient: outputs {outputs}")

    def per_input(edit=None):
        inputs = []
        for t in meta.inputs:
            values, datatype = column(customers, t.name, t.datatype), t.datatype
            if edit:
                values, datatype = edit(t.name, values, datatype)
            i = triton.InferInput(t.name, list(values.shape), datatype)
            i.set_data_from_numpy(values)
            inputs.append(i)
        return inputs

    def rows(result):
        cols = [result.as_numpy(n) for n in outputs]
        text = lambda v: v.decode() if isinstance(v, bytes) else str(v)
        return [(float(cols[0][i]), text(cols[1][i]), text(cols[2][i]), float(cols[3][i]),
                 float(cols[4][i]), bool(cols[5][i])) for i in range(len(cols[0]))]

    res = tc.infer(MODEL, per_input(), request_id="triton-1", headers=auth)
    got = rows(res)
    check(res.get_response().id == "triton-1", "tritonclient: id echoed")
    check(res.get_response().model_version == "v1", "tritonclient: model version named")
    mismatches = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    check(len(got) == len(expected) and not mismatches,
          f"tritonclient, one tensor per input (raw contents): {len(got)} rows equal to Score's"
          + (f" (first mismatches {mismatches[:3]})" if mismatches else ""))

    numeric = [t for t in meta.inputs if t.name != "customer_id"]
    matrix = np.stack([column(customers, t.name, t.datatype).astype(np.float64) for t in numeric], axis=1)
    one = triton.InferInput("input-0", list(matrix.shape), "FP64")
    one.set_data_from_numpy(matrix)
    wanted = [triton.InferRequestedOutput("value_at_risk"), triton.InferRequestedOutput("churn_probability")]
    res = tc.infer(MODEL, [one], outputs=wanted, model_version="v1", headers=auth)
    got = list(zip(res.as_numpy("churn_probability").tolist(), res.as_numpy("value_at_risk").tolist()))
    check([o.name for o in res.get_response().outputs] == ["value_at_risk", "churn_probability"],
          "tritonclient: only the requested outputs, in the order asked")
    check(got == [(e[0], e[4]) for e in expected],
          f"tritonclient, one FP64 {list(matrix.shape)} tensor, pinned to v1: equal to Score's")

    def refused(inputs, headers):
        try:
            tc.infer(MODEL, inputs, headers=headers)
        except InferenceServerException as e:
            return e.status(), e.message()
        return None, "accepted"

    as_fp64 = lambda n, v, d: (v.astype(np.float64), "FP64") if n == "age_years" else (v, d)
    status, message = refused(per_input(as_fp64), auth)
    check(status == "StatusCode.INVALID_ARGUMENT" and "input age_years: datatype" in message,
          f"tritonclient: wrong datatype refused: {status} {message}")

    def bad_row(n, v, d):
        if n == "age_years":
            v = v.copy()
            v[7] = 7
        return v, d
    status, message = refused(per_input(bad_row), auth)
    check(status == "StatusCode.INVALID_ARGUMENT" and "input age_years, row 7: 7 is outside 18..=120" in message,
          f"tritonclient: bad value named with its row: {status} {message}")
    status, message = refused(per_input(), {})
    check(status == "StatusCode.UNAUTHENTICATED", f"tritonclient: no token refused: {status} {message}")
    tc.close()


def grpcio_checks(target, token, customers, expected):
    from inference import grpc_predict_v2_pb2 as v2, grpc_predict_v2_pb2_grpc as v2_grpc

    metadata = [("authorization", f"Bearer {token}")]
    channel = grpc.insecure_channel(target)
    stub = v2_grpc.GRPCInferenceServiceStub(channel)
    meta = stub.ModelMetadata(v2.ModelMetadataRequest(name=MODEL), metadata=metadata, timeout=10)
    req = v2.ModelInferRequest(model_name=MODEL, id="typed-1")
    for t in meta.inputs:
        tensor = req.inputs.add(name=t.name, datatype=t.datatype, shape=[len(customers)])
        values = column(customers, t.name, t.datatype).tolist()
        field = {"BYTES": "bytes_contents", "BOOL": "bool_contents", "INT64": "int64_contents",
                 "FP64": "fp64_contents"}[t.datatype]
        getattr(tensor.contents, field).extend(values)
    reply = stub.ModelInfer(req, metadata=metadata, timeout=10)
    by_name = {o.name: o.contents for o in reply.outputs}
    got = list(zip(
        by_name["churn_probability"].fp64_contents,
        [b.decode() for b in by_name["value_tier"].bytes_contents],
        [b.decode() for b in by_name["best_action"].bytes_contents],
        by_name["expected_value"].fp64_contents,
        by_name["value_at_risk"].fp64_contents,
        by_name["key_account"].bool_contents,
    ))
    check(reply.id == "typed-1" and not reply.raw_output_contents, "grpcio: id echoed, typed contents back")
    check(got == expected, f"grpcio, typed contents: {len(got)} rows equal to Score's")
    del req.inputs[0].contents.int64_contents[-1]
    try:
        stub.ModelInfer(req, metadata=metadata, timeout=10)
        check(False, "grpcio: a short tensor is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "input age_years: has" in e.details(),
              f"grpcio: a short tensor is refused: {e.code()} {e.details()}")
    channel.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--grpcio-only", nargs=3, metavar=("TARGET", "TOKEN", "WORKDIR"),
                    help="run the grpcio checks only, against a running server")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    if a.grpcio_only:
        target, token, work = a.grpcio_only
        sys.path.insert(0, os.path.join(work, "stubs"))
        customers = read_customers(os.path.join(work, "customers.csv"))
        channel = grpc.insecure_channel(target)
        expected = score_rows(channel, customers, [("authorization", f"Bearer {token}")])
        grpcio_checks(target, token, customers, expected)
        return 1 if FAILURES else 0

    work = tempfile.mkdtemp(prefix="bankscore-oip-")
    bankscore_stubs.generate(root, os.path.join(work, "stubs"))
    data = os.path.join(work, "customers.csv")
    subprocess.run([a.bin, "generate", "--rows", str(a.rows), "--seed", "29", "--out", data],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    customers = read_customers(data)
    token = secrets.token_hex(24)
    proc, target = start_server(a.bin, root, work, token)
    try:
        channel = grpc.insecure_channel(target)
        grpc.channel_ready_future(channel).result(timeout=10)
        expected = score_rows(channel, customers, [("authorization", f"Bearer {token}")])
        channel.close()
        check(len({e[2] for e in expected}) >= 2,
              f"the {len(expected)} customers get more than one decision")
        triton_checks(target, token, customers, expected)
        sys.stdout.flush()
        child = subprocess.run([sys.executable, __file__, "--bin", a.bin, "--root", root,
                                "--grpcio-only", target, token, work], stdin=subprocess.DEVNULL)
        check(child.returncode == 0, "grpcio checks (child process)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
    check(proc.returncode == 0, f"bankscore serve exited {proc.returncode} on SIGTERM")
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    print("OIP CLIENTS OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
