#!/usr/bin/env python3
"""A rolling restart of 3 replicas under load, with a client bankscore did not write.

Starts 3 `bankscore serve` processes on loopback ports. A grpcio channel with the static
address list and round_robin (retrying UNAVAILABLE, as a production gRPC client is configured)
keeps unary Score calls going from 4 threads, and a ScoreStream sends records without pause,
reconnecting when its stream breaks and resuming by the rule of docs/batch.md: results come in
record order, so the client sends again from the first record it has no result for and keeps
one result per record id. Meanwhile each replica is restarted in turn as Kubernetes does it:
SIGTERM (health NOT_SERVING at once, calls in flight drain), wait for the exit, start again on
the same port, wait for SERVING.

Pass: 0 failed unary calls, every streamed record answered exactly once, every replica exited 0.

  rolling_restart_check.py --bin target/release/bankscore --root . [--restarts 1]
"""
import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import grpc

import bankscore_stubs

HEALTH = "/grpc.health.v1.Health/Check"
CHUNK = 500


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    def __init__(self, binary, root, port, workdir):
        self.binary, self.root, self.port, self.workdir = binary, root, port, workdir
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log = open(os.path.join(self.workdir, f"replica-{self.port}-{self.starts}.log"), "w")
        env = dict(os.environ, BANKSCORE_SERVER_DRAIN_TIMEOUT="5s", RUST_LOG="warn")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--no-auth", "--listen", f"127.0.0.1:{self.port}",
             "--watch-poll", "0s", "--models-dir", os.path.join(self.root, "models")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
        channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        check = channel.unary_unary(HEALTH, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if check(b"", timeout=1) == b"\x08\x01":  # status: SERVING
                    channel.close()
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"replica {self.port} did not become SERVING")

    def stop(self):
        self.proc.terminate()
        return self.proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--restarts", type=int, default=1, help="rounds of restarting every replica")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    work = tempfile.mkdtemp(prefix="bankscore-rolling-")
    bankscore_stubs.generate(root, os.path.join(work, "stubs"))
    from bankscore.v1 import batch_pb2, batch_pb2_grpc, scoring_pb2, scoring_pb2_grpc

    data = os.path.join(work, "customers.csv")
    subprocess.run([a.bin, "generate", "--rows", "2000", "--seed", "41", "--out", data], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pool = [bankscore_stubs.profile(row) for row in csv.DictReader(open(data))]

    replicas = [Replica(a.bin, root, free_port(), work) for _ in range(3)]
    for r in replicas:
        r.start()
    target = "ipv4:" + ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    config = ('{"loadBalancingConfig": [{"round_robin": {}}], "methodConfig": [{"name": '
              '[{"service": "bankscore.v1.ScoringService"}], "retryPolicy": {"maxAttempts": 5, '
              '"initialBackoff": "0.05s", "maxBackoff": "0.5s", "backoffMultiplier": 2, '
              '"retryableStatusCodes": ["UNAVAILABLE"]}}]}')
    # grpcio would send the address list itself as the :authority, which is not a valid
    # authority (commas): the server's HTTP/2 layer refuses such a stream (PROTOCOL_ERROR).
    options = [("grpc.service_config", config), ("grpc.enable_retries", 1),
               ("grpc.default_authority", "bankscore")]
    stop = threading.Event()
    counts = {"ok": 0, "failed": 0}
    failures = []
    lock = threading.Lock()

    def unary(worker):
        channel = grpc.insecure_channel(target, options=options)
        score = scoring_pb2_grpc.ScoringServiceStub(channel).Score
        i = worker
        while not stop.is_set():
            try:
                score(scoring_pb2.ScoreRequest(profile=pool[i % len(pool)]), timeout=5)
                with lock:
                    counts["ok"] += 1
            except grpc.RpcError as e:
                with lock:
                    counts["failed"] += 1
                    failures.append(f"{e.code()}: {e.details()}")
            i += 4
        channel.close()

    # The stream: records 0, 1, 2, … until told to stop; one result kept per record id.
    results = {}
    duplicates = []
    reconnects = [0]
    out_of_order = []
    stream_errors = []
    sent_total = [0]

    def stream():
        channel = grpc.insecure_channel(target, options=options)
        stub = batch_pb2_grpc.BatchScoringServiceStub(channel)
        next_record = 0  # the first record without a result: where a new stream starts
        while True:
            start = next_record
            def chunks():
                # Records without a result first (after a broken stream), then new ones.
                first = start
                while True:
                    if first >= sent_total[0]:
                        if stop.is_set():
                            return
                        sent_total[0] = first + CHUNK
                    end = min(first + CHUNK, sent_total[0])
                    yield batch_pb2.ScoreStreamRequest(records=[
                        batch_pb2.StreamRecord(record_id=str(i), profile=pool[i % len(pool)])
                        for i in range(first, end)])
                    first = end
                    time.sleep(0.005)

            try:
                for reply in stub.ScoreStream(chunks(), timeout=120):
                    for r in reply.results:
                        rid = int(r.record_id)
                        if rid in results:
                            duplicates.append(rid)
                        results[rid] = r.WhichOneof("outcome")
                        if rid != next_record:
                            out_of_order.append((rid, next_record))
                        next_record = max(next_record, rid + 1)
                if stop.is_set() and next_record >= sent_total[0]:
                    break
            except grpc.RpcError as e:
                reconnects[0] += 1
                stream_errors.append(f"{e.code()}: {e.details()}")
                if reconnects[0] > 200:
                    break
                time.sleep(0.05)
        channel.close()

    threads = [threading.Thread(target=unary, args=(w,)) for w in range(4)]
    streamer = threading.Thread(target=stream)
    for t in threads + [streamer]:
        t.start()
    time.sleep(1)
    exits = []
    started = time.monotonic()
    for _ in range(a.restarts):
        for r in replicas:
            exits.append(r.stop())
            r.start()
            time.sleep(0.5)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    streamer.join(timeout=120)
    for r in replicas:
        exits.append(r.stop())
    took = time.monotonic() - started

    ok = True
    def check(cond, what):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what)
        ok &= bool(cond)
    check(counts["failed"] == 0, f"{counts['ok']} unary calls, {counts['failed']} failed {failures[:3]}")
    check(counts["ok"] > 1000, "unary load kept running through the restarts")
    n = sent_total[0]
    check(n > 0 and sorted(results) == list(range(n)) and not duplicates,
          f"{n} streamed records, {len(results)} answered once each, {len(duplicates)} duplicated, "
          f"{reconnects[0]} stream reconnects {stream_errors[:2]}")
    check(all(v == "assessment" for v in results.values()), "every streamed record scored")
    check(not out_of_order, f"results in record order {out_of_order[:3]}")
    check(all(e == 0 for e in exits), f"every replica exited 0 on SIGTERM: {exits}")
    print(f"{a.restarts * 3} restarts in {took:.1f} s")
    if ok:
        print("ROLLING RESTART OK")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
