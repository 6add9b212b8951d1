"""Build of the bankscore Python client: generates the gRPC stubs from the API's .proto files.

Metadata is in pyproject.toml. This file adds one build step: before modules are collected,
``grpc_tools.protoc`` (the grpcio-tools pinned in ``[build-system] requires``) compiles
``bankscore/v1/*.proto`` into ``src/bankscore/v1/*_pb2.py``, ``*_pb2.pyi`` and
``*_pb2_grpc.py``, with their imports of each other made package-relative.

The .proto files are looked up, first found wins:

1. ``$BANKSCORE_PROTO_DIR`` (a directory holding ``bankscore/v1/*.proto``), if set;
2. ``proto/`` beside this file (an sdist carries its copy there);
3. ``../../proto`` (this directory inside the bankscore repository: ``pip install ./clients/python``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.errors import SetupError

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE / "src" / "bankscore" / "v1"
API_DIR = Path("bankscore") / "v1"  # inside the proto root: the API's package path


def proto_root() -> Path:
    """The directory holding ``bankscore/v1/*.proto``, or a SetupError saying where it looked."""
    env = os.environ.get("BANKSCORE_PROTO_DIR")
    candidates = [Path(env)] if env else [HERE / "proto", HERE.parent.parent / "proto"]
    for root in candidates:
        if sorted((root / API_DIR).glob("*.proto")):
            return root.resolve()
    looked = ", ".join(str(c / API_DIR) for c in candidates)
    raise SetupError(
        f"bankscore client build: no bankscore/v1/*.proto found (looked in {looked}). "
        "Build from the bankscore repository (pip install ./clients/python), from an sdist, "
        "or set BANKSCORE_PROTO_DIR to the directory that holds bankscore/v1/."
    )


# `from bankscore.v1 import scoring_pb2 as bankscore_dot_v1_dot_scoring__pb2` (.py and .pyi).
ABSOLUTE_IMPORT = re.compile(r"^from bankscore\.v1 import (\w+) as (\w+)$", re.MULTILINE)
ANY_ABSOLUTE = re.compile(r"^\s*(from|import) bankscore\b", re.MULTILINE)
GRPC_VERSION = re.compile(r"^GRPC_GENERATED_VERSION = '([\d.]+)'$", re.MULTILINE)
PROTOBUF_VERSION = re.compile(r"^# Protobuf Python Version: ([\d.]+)$", re.MULTILINE)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def generate(out_dir: Path, declared: list[str]) -> list[Path]:
    """Compiles every ``bankscore/v1/*.proto`` into ``out_dir``; returns the files written.

    Fails when protoc fails, when an import is left absolute, or when the generated code needs
    a newer grpcio or protobuf than the lower bounds of ``declared`` (the package's
    dependencies), so a wheel never allows a runtime its own stubs refuse.
    """
    try:
        import grpc_tools
        from grpc_tools import protoc
    except ImportError as e:
        raise SetupError(
            "bankscore client build: grpcio-tools is needed to generate the gRPC stubs "
            "(it is in [build-system] requires; with --no-build-isolation install it first: "
            "pip install -r scripts/requirements-python-client.txt)"
        ) from e
    root = proto_root()
    protos = sorted(str(p.relative_to(root)) for p in (root / API_DIR).glob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "grpc_tools.protoc",
            f"--proto_path={root}",
            f"--proto_path={well_known}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *protos,
        ]
        if protoc.main(args) != 0:
            raise SetupError(f"bankscore client build: protoc failed on {root / API_DIR}")
        generated = sorted((Path(tmp) / API_DIR).glob("*_pb2*.py*"))
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in out_dir.glob("*_pb2*.py*"):
            stale.unlink()
        written = []
        for src in generated:
            text = ABSOLUTE_IMPORT.sub(r"from . import \1 as \2", src.read_text(encoding="utf-8"))
            left = ANY_ABSOLUTE.search(text)
            if left:
                raise SetupError(
                    f"bankscore client build: {src.name} keeps an absolute import "
                    f"({left.group(0).strip()} ...): only imports within bankscore.v1 can be made relative"
                )
            check_versions(src.name, text, declared)
            dest = out_dir / src.name
            dest.write_text(text, encoding="utf-8")
            written.append(dest)
    return written


def check_versions(name: str, text: str, declared: list[str]) -> None:
    """Fails when the generated module needs more than the declared dependencies allow."""
    needs = {}
    if m := GRPC_VERSION.search(text):
        needs["grpcio"] = m.group(1)
    if m := PROTOBUF_VERSION.search(text):
        needs["protobuf"] = m.group(1)
    for package, version in needs.items():
        spec = next((d for d in declared if re.match(rf"{package}\s*[<>=!~]", d)), None)
        lower = re.search(r">=\s*([\d.]+)", spec or "")
        if not lower or _version(lower.group(1)) < _version(version):
            raise SetupError(
                f"bankscore client build: {name} was generated for {package}>={version}, but "
                f"pyproject.toml declares {spec!r}: raise its lower bound"
            )


class GenerateStubs(Command):
    """``python setup.py generate_stubs``: write the generated modules into src/bankscore/v1."""

    description = "generate the bankscore.v1 gRPC stubs from the .proto files"
    user_options: list = []

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        written = generate(PACKAGE_DIR, list(self.distribution.install_requires or []))
        self.announce(f"generated {len(written)} modules in {PACKAGE_DIR}", level=2)


class BuildPy(build_py):
    """build_py that generates the stubs into the source package first (also for editable installs)."""

    def run(self) -> None:
        self.run_command("generate_stubs")
        super().run()


class Sdist(sdist):
    """sdist that carries the .proto files under proto/, so a wheel can be built from it alone."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        root = proto_root()
        dest = Path(base_dir) / "proto" / API_DIR
        dest.mkdir(parents=True, exist_ok=True)
        for proto in sorted((root / API_DIR).glob("*.proto")):
            shutil.copyfile(proto, dest / proto.name)


setup(cmdclass={"generate_stubs": GenerateStubs, "build_py": BuildPy, "sdist": Sdist})
