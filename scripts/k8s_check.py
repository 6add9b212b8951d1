#!/usr/bin/env python3
"""Checks a rendered overlay of deploy/kubernetes against the server's own settings.

  k8s_check.py --bin BANKSCORE --rendered overlay.yaml --name trial

Reads the Deployment, Service and the settings (ConfigMap or Secret), has `bankscore serve --print-config` parse
the settings file as the pod will (a bad or unknown setting fails), and checks that the ports,
probes, preStop and grace period agree with them. Exit 0 when they all do.
"""
import argparse
import base64
import os
import re
import subprocess
import sys
import tempfile
import tomllib

import yaml

FAILURES = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILURES.append(what)


def seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    if not m:
        raise SystemExit(f"cannot read the duration {text!r}")
    n, unit = int(m.group(1)), m.group(2)
    return n / 1000 if unit == "ms" else n * {"s": 1, "m": 60, "h": 3600}[unit]


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rendered", required=True)
    ap.add_argument("--name", required=True)
    a = ap.parse_args()
    docs = [d for d in yaml.safe_load_all(open(a.rendered)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    deployment = by_kind["Deployment"][0]
    service = by_kind["Service"][0]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    # The settings file: a ConfigMap (trial), or a Secret when it holds the tokens (production).
    holders = [d for d in by_kind.get("ConfigMap", []) + by_kind.get("Secret", [])
               if "bankscore.toml" in d.get("data", {})]
    check(len(holders) == 1, f"{a.name}: one ConfigMap or Secret holds bankscore.toml")
    holder = holders[0]
    text = holder["data"]["bankscore.toml"]
    if holder["kind"] == "Secret":
        text = base64.b64decode(text).decode()
    volume = next(v for v in pod["volumes"] if v["name"] == "settings")
    mounted = volume.get("configMap", {}).get("name") or volume.get("secret", {}).get("secretName")
    check(mounted == holder["metadata"]["name"], f"{a.name}: the pod mounts that {holder['kind']} as its settings")
    mount = next(m for m in container["volumeMounts"] if m["name"] == "settings")
    check(f"{mount['mountPath']}/bankscore.toml" in container["args"], f"{a.name}: serve --config reads the mounted file")

    # The settings as the pod's server reads them.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bankscore.toml")
        with open(path, "w") as f:
            f.write(text)
        env = dict(os.environ, BANKSCORE_AUDIT_HASH_KEY="k8s-check-key")
        printed = subprocess.run([a.bin, "serve", "--config", path, "--print-config"],
                                 capture_output=True, text=True, env=env)
    check(printed.returncode == 0, f"{a.name}: bankscore accepts the settings file {printed.stderr.strip()}")
    if printed.returncode != 0:
        return 1
    settings = tomllib.loads(printed.stdout)
    server = settings["server"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    check(ports.get("grpc") == port_of(server["listen"]), f"{a.name}: grpc port = server.listen ({server['listen']})")
    health = server.get("health_listen")
    check(health is not None, f"{a.name}: server.health_listen is set (kubelet probes)")
    if health:
        check(ports.get("health") == port_of(health), f"{a.name}: health port = server.health_listen ({health})")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            p = container.get(probe, {})
            check(p.get("grpc", {}).get("port") == port_of(health),
                  f"{a.name}: {probe} is a gRPC probe on the health port")
    if "tls" in settings:
        check(health is not None, f"{a.name}: with TLS, health has its own plaintext port")
    metrics = settings.get("metrics", {}).get("listen")
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    if metrics:
        check(ports.get("metrics") == port_of(metrics), f"{a.name}: metrics port = metrics.listen")
        check(annotations.get("prometheus.io/port") == str(port_of(metrics)),
              f"{a.name}: the scrape annotation names the metrics port")
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = seconds(server["drain_timeout"])
    grace = pod["terminationGracePeriodSeconds"]
    check(grace > pre_stop + drain,
          f"{a.name}: terminationGracePeriodSeconds {grace} > preStop {pre_stop} s + drain_timeout {drain:g} s")
    readiness = container["readinessProbe"]
    notice = readiness["periodSeconds"] * readiness["failureThreshold"]
    check(pre_stop >= notice,
          f"{a.name}: the preStop sleep ({pre_stop} s) outlasts readiness noticing NOT_SERVING ({notice} s)")
    check(service["spec"].get("clusterIP") == "None", f"{a.name}: the Service is headless")
    check(service["spec"]["ports"][0]["targetPort"] in ("grpc", ports.get("grpc")),
          f"{a.name}: the Service targets the grpc port")
    age = seconds(server["max_connection_age"])
    check(age < 3600, f"{a.name}: server.max_connection_age {age:g} s sends clients to re-resolve")
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    audit = settings.get("audit", {}).get("path")
    if audit:
        check(os.path.dirname(audit) in mounts, f"{a.name}: the audit log's directory is a volume")
    check(settings["models"]["dir"] == "/models", f"{a.name}: models.dir is /models")
    if FAILURES:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
