"""Fixtures: a real bankscore server on 127.0.0.1:0 with bearer tokens, started once per session.

The binary is $BANKSCORE_BIN, else target/release/bankscore of the repository this file is in;
the models are the repository's models/ directory.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MODELS = REPO / "models"
CUSTOMER_JSON = REPO / "examples" / "customer.json"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def bankscore_bin() -> Path:
    path = Path(os.environ.get("BANKSCORE_BIN") or REPO / "target" / "release" / "bankscore")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no bankscore binary at {path}: build it (cargo build --release) or set BANKSCORE_BIN", pytrace=False)
    return path


def clean_env() -> dict[str, str]:
    """The environment without BANKSCORE_* settings, so the caller's own cannot leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BANKSCORE_")}


def make_token(binary: Path, name: str, role: str) -> tuple[str, str]:
    """(token, its [[auth.tokens]] settings entry) from `bankscore token`."""
    done = subprocess.run(
        [str(binary), "token", "--name", name, "--role", role],
        capture_output=True, text=True, timeout=30, check=True, env=clean_env(),
    )
    token = done.stdout.strip()
    entry = done.stderr[done.stderr.index("[[auth.tokens]]"):]
    assert re.fullmatch(r"[0-9a-f]{64}", token), done.stdout
    return token, entry


@dataclass
class Server:
    """A running bankscore server."""

    address: str  # host:port
    process: subprocess.Popen
    log: Path

    @property
    def target(self) -> str:
        return self.address


def start_server(binary: Path, config: Path, log: Path, extra: list[str] | None = None) -> Server:
    """Starts `bankscore serve` on 127.0.0.1:0 and waits (at most 30 s) for its bound address."""
    args = [
        str(binary), "serve", "--listen", "127.0.0.1:0", "--models-dir", str(MODELS),
        "--config", str(config), "--watch-poll", "0s", "--log-format", "json", *(extra or []),
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, env=clean_env(),
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("message") == "bankscore serving" and event.get("address"):
                return Server(event["address"], process, log)
        if process.poll() is not None:
            pytest.fail(f"bankscore serve exited with {process.returncode}:\n{log.read_text(errors='replace')}", pytrace=False)
        time.sleep(0.05)
    stop_server(process)
    pytest.fail(f"bankscore serve did not report its address within {START_TIMEOUT:.0f} s:\n{log.read_text(errors='replace')}", pytrace=False)


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, then SIGKILL after 15 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def binary() -> Path:
    return bankscore_bin()


@pytest.fixture(scope="session")
def tokens(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Tokens by role: "scorer", "admin"; "auth" is the settings that accept them, "config" a file of them."""
    scorer, scorer_entry = make_token(binary, "pytest", "scorer")
    admin, admin_entry = make_token(binary, "pytest-admin", "admin")
    auth = f"[auth]\nenabled = true\n\n{scorer_entry}\n{admin_entry}\n"
    config = tmp_path_factory.mktemp("config") / "bankscore.toml"
    config.write_text(auth)
    return {"scorer": scorer, "admin": admin, "auth": auth, "config": str(config)}


@pytest.fixture(scope="session")
def server(binary: Path, tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "serve.log"
    running = start_server(binary, Path(tokens["config"]), log)
    try:
        yield running
    finally:
        stop_server(running.process)


@pytest.fixture(scope="session")
def customer() -> dict:
    """examples/customer.json."""
    return json.loads(CUSTOMER_JSON.read_text())


@pytest.fixture(scope="session")
def generated_csv(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 synthetic customers from `bankscore generate --rows 5000 --seed 11`."""
    path = tmp_path_factory.mktemp("data") / "customers.csv"
    subprocess.run(
        [str(binary), "generate", "--rows", "5000", "--seed", "11", "--out", str(path)],
        capture_output=True, timeout=60, check=True, env=clean_env(),
    )
    return path
