#!/usr/bin/env python3
"""Open Inference Protocol request frames for bankscore, for h2load, and their check.

  oip_frames.py write --bin BANKSCORE --root ROOT --out DIR [--rows 1 1000]
      DIR/infer_n<N>.bin: one gRPC length-prefixed ModelInferRequest for model churn with
      N generated customers in one FP64 [N, 22] tensor (typed fp64_contents, ModelMetadata's
      order), all six outputs (the layout the peers' frames use, with bankscore's inputs).
  oip_frames.py check --root ROOT --target HOST:PORT --frames F.bin ...
      sends each frame's exact request through grpcio; every row's outputs must equal what
      bankscore.v1 Score answers for the same customer. Exit 0 when all match.

Needs the venv of scripts/requirements-oip.txt (grpcio, grpcio-tools, numpy).
"""
import argparse
import csv
import os
import struct
import subprocess
import sys
import tempfile

import grpc

import bankscore_stubs



def write(a):
    from inference import grpc_predict_v2_pb2 as v2

    os.makedirs(a.out, exist_ok=True)
    data = os.path.join(a.out, "customers.csv")
    subprocess.run([a.bin, "generate", "--rows", str(max(a.rows)), "--seed", "31", "--out", data],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(data, newline="") as f:
        rows = list(csv.DictReader(f))
    features = [c for c in rows[0] if c not in ("customer_id", "churned")]
    for n in a.rows:
        req = v2.ModelInferRequest(model_name="churn", id=f"bench-n{n}")
        t = req.inputs.add(name="input-0", datatype="FP64", shape=[n, len(features)])
        t.contents.fp64_contents.extend(float(r[c]) for r in rows[:n] for c in features)
        body = req.SerializeToString()
        path = os.path.join(a.out, f"infer_n{n}.bin")
        with open(path, "wb") as f:
            f.write(b"\x00" + struct.pack(">I", len(body)) + body)
        print(f"wrote {path}: {n} rows, {len(body)} bytes")


def check(a):
    from inference import grpc_predict_v2_pb2 as v2, grpc_predict_v2_pb2_grpc as v2_grpc
    from bankscore.v1 import scoring_pb2, scoring_pb2_grpc

    channel = grpc.insecure_channel(a.target, options=[("grpc.max_receive_message_length", 64 << 20)])
    oip = v2_grpc.GRPCInferenceServiceStub(channel)
    scoring = scoring_pb2_grpc.ScoringServiceStub(channel)
    meta = oip.ModelMetadata(v2.ModelMetadataRequest(name="churn"), timeout=10)
    names = [t.name for t in meta.inputs if t.name != "customer_id"]
    kinds = {t.name: t.datatype for t in meta.inputs}
    ok = True
    for path in a.frames:
        with open(path, "rb") as f:
            raw = f.read()
        req = v2.ModelInferRequest.FromString(raw[5:])
        reply = oip.ModelInfer(req, timeout=30)
        t = req.inputs[0]
        n, width = t.shape
        values = t.contents.fp64_contents
        outs = {o.name: o.contents for o in reply.outputs}
        bad = 0
        for i in range(n):
            p = scoring_pb2.CustomerProfile(customer_id=f"{req.id}#{i}")
            for j, name in enumerate(names):
                v = values[i * width + j]
                setattr(p, name, bool(v) if kinds[name] == "BOOL" else int(v) if kinds[name] == "INT64" else v)
            s = scoring.Score(scoring_pb2.ScoreRequest(profile=p), timeout=10)
            has_best = s.decision.HasField("best")
            tier = scoring_pb2.ValueTier.Name(s.tier.tier).removeprefix("VALUE_TIER_")
            want = (s.churn.probability, "sleeping" if tier == "SLEEPING" else tier,
                    s.decision.best.action_id if has_best else "no_action",
                    s.decision.best.expected_value if has_best else 0.0,
                    s.value.value_at_risk, s.tier.key_account)
            got = (outs["churn_probability"].fp64_contents[i], outs["value_tier"].bytes_contents[i].decode(),
                   outs["best_action"].bytes_contents[i].decode(), outs["expected_value"].fp64_contents[i],
                   outs["value_at_risk"].fp64_contents[i], outs["key_account"].bool_contents[i])
            bad += got != want
        print(f"{path}: {n} rows, {bad} differ from Score; reply {reply.ByteSize() + 5} bytes")
        ok &= bad == 0 and reply.id == req.id
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--bin", required=True)
    w.add_argument("--root", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--rows", type=int, nargs="+", default=[1, 1000])
    c = sub.add_parser("check")
    c.add_argument("--root", required=True)
    c.add_argument("--target", required=True)
    c.add_argument("--frames", nargs="+", required=True)
    a = ap.parse_args()
    bankscore_stubs.generate(os.path.abspath(a.root), tempfile.mkdtemp(prefix="bankscore-oip-stubs-"))
    return write(a) if a.cmd == "write" else check(a)


if __name__ == "__main__":
    sys.exit(main() or 0)
