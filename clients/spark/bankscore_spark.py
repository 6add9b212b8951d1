"""Nightly bulk scoring on Spark: customers from Parquet, through bankscore's ScoreStream, to Parquet.

Each partition goes through ``BatchScoringService/ScoreStream`` of one bankscore replica with
the bankscore Python client (``DataFrame.mapInArrow``): one stream per Arrow batch of the
partition, replicas taken round-robin (partition ``p``'s batch ``k`` goes to replica
``(p + k) mod n`` first). A batch whose stream fails with UNAVAILABLE (replica down or draining)
or RESOURCE_EXHAUSTED (replica at its bulk-stream limit) is sent again, whole, to the next
replica; only a batch answered in full is kept, so every input row gets exactly one result row.

The whole job is pinned to one model version: ``--model-version``, or else the champion of the
first replica when the job starts. A replica that no longer has that version answers NOT_FOUND,
which is not retried: the job fails rather than mix versions.

A row the server refuses (e.g. ``age_years`` 7) is not an error of the job: its result row has
``error_field`` and ``error`` set and the assessment columns null, as ``bankscore score`` writes
it to its rejects file.

    spark-submit clients/spark/bankscore_spark.py \\
        --input s3a://bank/customers/2026-12-07/ --output s3a://bank/assessments/2026-12-07/ \\
        --targets bankscore-0.bankscore:50051,bankscore-1.bankscore:50051 --token-env BANKSCORE_TOKEN

Needs, on the driver and every executor: pyspark with pyarrow, and the bankscore client
(``pip install 'clients/python[pandas]'``). See clients/spark/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

#: The columns written, in order: the input's customer_id, the assessment, and where it came from.
OUTPUT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_id", "string"),
    ("churn_probability", "double"),
    ("value_tier", "string"),
    ("key_account", "boolean"),
    ("realized_value", "double"),
    ("potential_value", "double"),
    ("influence_value", "double"),
    ("total_value", "double"),
    ("value_at_risk", "double"),
    ("best_action_id", "string"),
    ("best_expected_value", "double"),
    ("propensity", "double"),
    ("control_group", "boolean"),
    ("withheld_action_id", "string"),
    ("error_field", "string"),
    ("error", "string"),
    ("model_version", "string"),
    ("scored_by", "string"),
)
OUTPUT_DDL = ", ".join(f"{name} {kind}" for name, kind in OUTPUT_COLUMNS)


class JobError(RuntimeError):
    """The job cannot go on: bad options, no replica reachable, the pinned version gone."""


@dataclass(frozen=True)
class ScoringOptions:
    """How each task reaches bankscore. Sent to the executors with the task (keep it small)."""

    targets: tuple[str, ...]
    model_version: str
    token: str | None = None
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    server_name: str | None = None
    chunk: int = 2000
    #: Tries per batch, over the replicas in turn (then again after a pause).
    attempts: int = 6
    #: Pause before a batch's second round over the replicas, doubled each round (seconds).
    backoff: float = 1.0
    #: Deadline of one batch's stream (seconds).
    timeout: float = 600.0

    def client(self, target: str) -> Any:
        import bankscore

        tls = None
        if self.ca_cert:
            tls = bankscore.TlsConfig(
                ca_cert=self.ca_cert,
                client_cert=self.client_cert,
                client_key=self.client_key,
                server_name=self.server_name,
            )
        return bankscore.Client(target, token=self.token, tls=tls, timeout=30.0)


def profile_columns(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """The input columns sent to the server (profile fields, ``extra.<name>``) and those dropped."""
    import bankscore

    fields = set(bankscore.PROFILE_FIELDS)
    sent = [n for n in names if n in fields or n.startswith("extra.")]
    return sent, [n for n in names if n not in sent]


def _retryable(error: BaseException) -> bool:
    import bankscore

    return isinstance(error, (bankscore.Unavailable, bankscore.ResourceExhausted))


def score_batches(batches: Iterator[Any], options: ScoringOptions, partition: int) -> Iterator[Any]:
    """The mapInArrow function: Arrow record batches of customers in, of assessments out."""
    import pyarrow as pa

    schema = output_schema()
    clients: dict[str, Any] = {}
    n = len(options.targets)
    try:
        for k, batch in enumerate(batches):
            if batch.num_rows == 0:
                continue
            frame = batch.to_pandas()
            scored, target = None, ""
            last: BaseException | None = None
            for attempt in range(options.attempts):
                if attempt and attempt % n == 0:
                    time.sleep(options.backoff * 2 ** (attempt // n - 1))
                target = options.targets[(partition + k + attempt) % n]
                if target not in clients:
                    clients[target] = options.client(target)
                try:
                    scored = clients[target].score_frame(
                        frame, options.chunk, model_version=options.model_version, timeout=options.timeout
                    )
                    break
                except Exception as e:  # noqa: BLE001 - only the retryable ones are retried
                    if not _retryable(e):
                        raise JobError(f"partition {partition}, batch {k}, replica {target}: {e}") from e
                    last = e
            if scored is None:
                raise JobError(
                    f"partition {partition}, batch {k}: no replica scored it in {options.attempts} tries "
                    f"over {', '.join(options.targets)}; last: {last}"
                )
            version = scored.attrs.get("model", {}).get("version", "")
            if version != options.model_version:
                raise JobError(f"replica {target} scored with model {version!r}, not the pinned {options.model_version!r}")
            if len(scored) != batch.num_rows:
                raise JobError(f"replica {target}: {len(scored)} results for {batch.num_rows} rows")
            columns = {}
            for name, _ in OUTPUT_COLUMNS:
                if name == "model_version":
                    columns[name] = pa.array([version] * len(scored), pa.string())
                elif name == "scored_by":
                    columns[name] = pa.array([target] * len(scored), pa.string())
                elif name == "customer_id":
                    columns[name] = pa.array(
                        [None if v is None else str(v) for v in scored["customer_id"]], pa.string()
                    )
                else:
                    columns[name] = pa.array(scored[name], schema.field(name).type, from_pandas=True)
            yield pa.RecordBatch.from_pydict(columns, schema=schema)
    finally:
        for client in clients.values():
            client.close()


def output_schema() -> Any:
    import pyarrow as pa

    kinds = {"string": pa.string(), "double": pa.float64(), "boolean": pa.bool_()}
    return pa.schema([(name, kinds[kind]) for name, kind in OUTPUT_COLUMNS])


def pin_model_version(options: ScoringOptions, sample: Any) -> str:
    """The champion of the first replica that answers, asked with one input row."""
    import bankscore

    problems = []
    for target in options.targets:
        client = options.client(target)
        try:
            scored = client.score_frame(sample, 1)
            return scored.attrs["model"]["version"]
        except bankscore.BankscoreError as e:
            if not _retryable(e):
                raise JobError(f"replica {target}: {e}") from e
            problems.append(f"{target}: {e}")
        finally:
            client.close()
    raise JobError("no replica answered to pin the model version: " + "; ".join(problems))


def run(
    spark: Any,
    input_path: str,
    output_path: str,
    options: ScoringOptions,
    mode: str = "errorifexists",
    partitions: int = 0,
) -> dict[str, Any]:
    """Scores ``input_path`` (Parquet) into ``output_path`` (Parquet); returns a small report.

    ``partitions`` > 0 spreads the input over that many partitions first (a shuffle): more
    partitions than executor cores keeps every core busy while a replica restarts.
    """
    customers = spark.read.parquet(input_path)
    sent, dropped = profile_columns(customers.columns)
    if "customer_id" not in sent:
        raise JobError(f"{input_path} has no customer_id column")
    customers = customers.select(*[f"`{c}`" for c in sent])
    if partitions:
        customers = customers.repartition(partitions)
    if not options.model_version:
        first = customers.limit(1).toPandas()
        if first.empty:
            raise JobError(f"{input_path} holds no customers")
        options = replace(options, model_version=pin_model_version(options, first))

    def score(batches: Iterator[Any]) -> Iterator[Any]:
        from pyspark import TaskContext

        return score_batches(batches, options, TaskContext.get().partitionId())

    started = time.monotonic()
    customers.mapInArrow(score, OUTPUT_DDL).write.mode(mode).parquet(output_path)
    return {
        "model_version": options.model_version,
        "columns_sent": sent,
        "columns_dropped": dropped,
        "seconds": time.monotonic() - started,
    }


def one_line(error: BaseException) -> str:
    """The cause of a failed job in one line: a task's JobError, not the JVM's stack trace."""
    text = str(error)
    for line in text.splitlines():
        if "JobError: " in line:
            return line.split("JobError: ", 1)[1].strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="Parquet of customers: customer_id, CustomerProfile fields, extra.<name>")
    parser.add_argument("--output", required=True, help="Parquet directory for the assessments (must not exist, unless --overwrite)")
    parser.add_argument("--targets", required=True, help="bankscore replicas, host:port,host:port (https:// with --ca-cert)")
    parser.add_argument("--model-version", default="", help="model version for the whole job (default: the champion at the start)")
    parser.add_argument("--token-env", default="BANKSCORE_TOKEN", help="environment variable holding the bearer token")
    parser.add_argument("--ca-cert", help="PEM CA of the replicas' certificates (TLS)")
    parser.add_argument("--client-cert", help="PEM client certificate, for replicas that ask for one (mutual TLS)")
    parser.add_argument("--client-key", help="PEM key of --client-cert")
    parser.add_argument("--server-name", help="name the replicas' certificates carry, if not the target host")
    parser.add_argument("--chunk", type=int, default=2000, help="records per ScoreStream message (1..=10000)")
    parser.add_argument("--attempts", type=int, default=6, help="tries per batch over the replicas")
    parser.add_argument("--partitions", type=int, default=0, help="spread the input over this many partitions first (0: as read)")
    parser.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    args = parser.parse_args(argv)
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    if not targets:
        parser.error("--targets names no replica")
    if args.attempts < 1:
        parser.error("--attempts must be at least 1")
    if (args.client_cert is None) != (args.client_key is None):
        parser.error("--client-cert and --client-key go together")
    if args.client_cert and not args.ca_cert:
        parser.error("--client-cert needs --ca-cert")
    options = ScoringOptions(
        targets=targets,
        model_version=args.model_version,
        token=os.environ.get(args.token_env) or None,
        ca_cert=args.ca_cert,
        client_cert=args.client_cert,
        client_key=args.client_key,
        server_name=args.server_name,
        chunk=args.chunk,
        attempts=args.attempts,
    )
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("bankscore nightly scoring").getOrCreate()
    try:
        mode = "overwrite" if args.overwrite else "errorifexists"
        report = run(spark, args.input, args.output, options, mode, args.partitions)
    except Exception as e:  # noqa: BLE001 - one line for the operator, whatever failed
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    print(
        f"scored {args.input} into {args.output} with model version {report['model_version']} "
        f"in {report['seconds']:.1f} s; columns not sent: {', '.join(report['columns_dropped']) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
