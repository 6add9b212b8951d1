"""The Spark job of clients/spark against real replicas, checked against `bankscore score`.

1. `bankscore generate` writes N customers to Parquet; every 1000th row (offset 17) gets
   age_years 7 and every 1000th (offset 503) a missing tenure_months: rows the server refuses.
2. `bankscore score` scores the same file offline (assessments and a rejects file).
3. Two `bankscore serve` replicas start on loopback ports, with tokens; a third target is a
   port nobody listens on, so a third of the batches meet UNAVAILABLE first and go on to the
   next replica.
4. `spark-submit --master local[2] clients/spark/bankscore_spark.py` scores the file through
   the three targets (token from the environment, version pinned at the start).
5. Checks: one output row per input row (no customer lost, none twice); every probability,
   value, tier and best action equal to `bankscore score`'s; the refused rows are exactly the
   offline rejects, with the field named; both live replicas scored batches, the dead one
   none; one model version throughout.
6. The same job pinned to a version no replica has fails, in one line, and writes nothing.

Prints the throughput of both, for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import bankscore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, **kw)


def fail(message: str) -> None:
    raise SystemExit(f"spark_check: FAILED: {message}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--partitions", type=int, default=4)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bankscore-spark-")
    models = os.path.join(args.root, "models")

    # 1. The customers, with rows the server must refuse.
    generated = os.path.join(work, "generated.parquet")
    run([args.bin, "generate", "--rows", str(args.rows), "--seed", "31", "--out", generated],
        stdout=subprocess.DEVNULL)
    table = pq.read_table(generated)
    bad_age = pa.array([i % 1000 == 17 for i in range(table.num_rows)])
    no_tenure = pa.array([i % 1000 == 503 for i in range(table.num_rows)])
    age = pc.if_else(bad_age, pa.scalar(7, table.schema.field("age_years").type), table["age_years"])
    tenure = pc.if_else(no_tenure, pa.scalar(None, table.schema.field("tenure_months").type), table["tenure_months"])
    table = table.set_column(table.schema.get_field_index("age_years"), "age_years", age)
    table = table.set_column(table.schema.get_field_index("tenure_months"), "tenure_months", tenure)
    customers = os.path.join(work, "customers.parquet")
    pq.write_table(table, customers)
    expected_bad = {table["customer_id"][i].as_py() for i in range(table.num_rows) if i % 1000 in (17, 503)}

    # 2. Offline.
    offline = os.path.join(work, "offline.parquet")
    rejects = os.path.join(work, "offline.rejects.csv")
    started = time.monotonic()
    run([args.bin, "score", "--input", customers, "--out", offline, "--rejects", rejects, "--models-dir", models],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    offline_s = time.monotonic() - started
    offline_rows = {r["customer_id"]: r for r in pq.read_table(offline).to_pylist()}
    import csv

    with open(rejects, newline="") as f:
        offline_rejects = {r["customer_id"]: r for r in csv.DictReader(f)}
    if set(offline_rejects) != expected_bad:
        fail(f"bankscore score refused {len(offline_rejects)} rows, not the {len(expected_bad)} made bad")

    # 3. Two replicas with a token, and a target nobody listens on.
    token = run([args.bin, "token", "--name", "spark-job", "--role", "scorer"], capture_output=True, text=True)
    entry = token.stderr[token.stderr.index("[[auth.tokens]]"):]
    settings = os.path.join(work, "bankscore.toml")
    with open(settings, "w") as f:
        f.write(f'[models]\ndir = "{models}"\nwatch_poll = "0s"\n\n{entry}')
    replicas, logs = [], []
    ports = [free_port(), free_port()]
    dead = free_port()
    for port in ports:
        log = open(os.path.join(work, f"replica-{port}.log"), "w")
        logs.append(log)
        replicas.append(subprocess.Popen(
            [args.bin, "serve", "--config", settings, "--listen", f"127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(os.environ, RUST_LOG="warn"), start_new_session=True))
    try:
        for port in ports:
            with bankscore.Client(f"127.0.0.1:{port}") as c:
                deadline = time.monotonic() + 30
                while not c.ready(timeout=1):
                    if time.monotonic() > deadline:
                        fail(f"replica {port} did not become SERVING")
                    time.sleep(0.1)
        targets = ",".join([f"127.0.0.1:{ports[0]}", f"127.0.0.1:{dead}", f"127.0.0.1:{ports[1]}"])
        env = dict(os.environ, BANKSCORE_TOKEN=token.stdout.strip(), PYSPARK_PYTHON=sys.executable,
                   PYSPARK_DRIVER_PYTHON=sys.executable)
        spark_submit = os.path.join(os.path.dirname(sys.executable), "spark-submit")
        job = os.path.join(args.root, "clients", "spark", "bankscore_spark.py")
        submit = [spark_submit, "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                  "--conf", "spark.sql.execution.arrow.maxRecordsPerBatch=10000",
                  "--conf", "spark.log.level=ERROR", job]

        # 4. The job.
        scored = os.path.join(work, "scored")
        started = time.monotonic()
        out = subprocess.run(submit + ["--input", customers, "--output", scored, "--targets", targets,
                                       "--partitions", str(args.partitions)],
                             env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
        job_s = time.monotonic() - started
        if out.returncode != 0:
            fail(f"the job failed ({out.returncode}):\n{out.stderr[-3000:]}")
        report = [line for line in out.stdout.splitlines() if line.startswith("scored ")]
        print("  " + (report[0] if report else out.stdout.strip()[-500:]))

        # 5. Checks.
        result = pq.read_table(scored).to_pylist()
        ids = [r["customer_id"] for r in result]
        if len(ids) != table.num_rows:
            fail(f"{len(ids)} output rows for {table.num_rows} input rows")
        if len(set(ids)) != len(ids):
            fail(f"{len(ids) - len(set(ids))} customers have more than one output row")
        if set(ids) != set(table["customer_id"].to_pylist()):
            fail("the output's customers are not the input's")
        versions = {r["model_version"] for r in result}
        if versions != {"v1"}:
            fail(f"model versions in the output: {versions}")
        by = {}
        for r in result:
            by[r["scored_by"]] = by.get(r["scored_by"], 0) + 1
        if set(by) != {f"127.0.0.1:{p}" for p in ports}:
            fail(f"rows per replica: {by} (the live replicas both, the dead target none)")
        max_dp, refused = 0.0, 0
        for r in result:
            cid = r["customer_id"]
            if r["error"]:
                refused += 1
                rej = offline_rejects.get(cid)
                if rej is None:
                    fail(f"{cid} refused by the job ({r['error']}) but scored offline")
                if not r["error_field"].endswith(rej["field"]) or r["churn_probability"] is not None:
                    fail(f"{cid}: job error {r['error_field']!r} {r['error']!r}, offline {rej['field']!r} {rej['reason']!r}")
                continue
            o = offline_rows.get(cid)
            if o is None:
                fail(f"{cid} scored by the job but refused offline")
            dp = abs(r["churn_probability"] - o["churn_probability"])
            max_dp = max(max_dp, dp)
            if dp > 1e-12:
                fail(f"{cid}: churn probability {r['churn_probability']} in the job, {o['churn_probability']} offline")
            for mine, theirs in (("total_value", "total_value"), ("value_at_risk", "value_at_risk"),
                                 ("best_expected_value", "best_expected_value")):
                if abs(r[mine] - o[theirs]) > 1e-9 * max(1.0, abs(o[theirs])):
                    fail(f"{cid}: {mine} {r[mine]} in the job, {o[theirs]} offline")
            if r["value_tier"] != o["tier"] or (r["best_action_id"] or "no_action") != o["best_action"]:
                fail(f"{cid}: tier/action {r['value_tier']}/{r['best_action_id']} vs {o['tier']}/{o['best_action']}")
        if refused != len(expected_bad):
            fail(f"{refused} rows refused by the job, {len(expected_bad)} expected")
        print(f"  {len(ids)} rows, each once; {refused} refused rows = the offline rejects; "
              f"max |Δp| vs bankscore score {max_dp:.1e}; rows per replica {by}")

        # 6. A pinned version no replica has: the job fails in one line and writes nothing.
        missing = os.path.join(work, "pinned-missing")
        out = subprocess.run(submit + ["--input", customers, "--output", missing, "--targets", targets,
                                       "--model-version", "v9"],
                             env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
        # spark-submit runs the driver's Python with its stderr merged into stdout.
        errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("error: ")]
        last = errors[0] if len(errors) == 1 else f"{len(errors)} error lines: {errors}"[:3000]
        if out.returncode != 1 or not last.startswith("error: ") or "v9" not in last:
            fail(f"the job pinned to v9 exited {out.returncode}; its error: {last!r}")
        if os.path.exists(os.path.join(missing, "_SUCCESS")):
            fail("the job pinned to v9 wrote a complete output")
        print(f"  pinned to v9: exit 1, {last}")
    finally:
        for p in replicas:
            p.terminate()
        for p in replicas:
            if p.wait(timeout=30) != 0:
                print(f"spark_check: a replica exited {p.returncode}", file=sys.stderr)
        for log in logs:
            log.close()

    print(f"  throughput: bankscore score {table.num_rows / offline_s:,.0f} rows/s ({offline_s:.2f} s); "
          f"Spark job local[2] {table.num_rows / job_s:,.0f} rows/s ({job_s:.1f} s, JVM start included)")
    print("SPARK JOB OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
