"""Regenerate the Python protobuf and gRPC modules from ``alembic_provider/plugin/proto/*.proto``.

Runs ``grpc_tools.protoc`` from the repository root with ``-I .`` so the generated modules import
each other as ``alembic_provider.plugin.proto.<name>_pb2``. The output depends only on the
``.proto`` files and the installed grpcio-tools version. Never edits the ``.proto`` files and
never touches anything outside the output's ``alembic_provider/plugin/proto/`` directory.

Usage: ``python scripts/gen_proto.py [--out DIR]``. ``DIR`` defaults to the repository root;
the tests pass a temporary directory and compare.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_PACKAGE_DIR = Path("alembic_provider", "plugin", "proto")
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_sources() -> list[Path]:
    """Return the ``.proto`` files relative to the repository root, in a stable order."""
    return sorted(
        path.relative_to(REPO_ROOT) for path in (REPO_ROOT / PROTO_PACKAGE_DIR).glob("*.proto")
    )


def generated_files(out_root: Path) -> list[Path]:
    """Return the generated modules currently present under ``out_root``, sorted."""
    target = out_root / PROTO_PACKAGE_DIR
    return sorted(
        path
        for path in target.glob("*_pb2*")
        if path.is_file() and path.name.endswith(GENERATED_SUFFIXES)
    )


def generate(out_root: Path) -> list[Path]:
    """Write fresh generated modules under ``out_root`` and return their paths.

    Stale generated modules (from a ``.proto`` that no longer exists) are removed first, so the
    directory always matches the sources exactly.

    :raises subprocess.CalledProcessError: when protoc rejects a ``.proto`` file.
    """
    out_root = out_root.resolve()
    (out_root / PROTO_PACKAGE_DIR).mkdir(parents=True, exist_ok=True)
    for stale in generated_files(out_root):
        stale.unlink()
    # The well-known types (google/protobuf/empty.proto) ship inside grpc_tools.
    well_known = resources.files("grpc_tools") / "_proto"
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        "-I",
        ".",
        "-I",
        str(well_known),
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *(str(source) for source in proto_sources()),
    ]
    subprocess.run(command, cwd=REPO_ROOT, check=True)
    return generated_files(out_root)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate, and list what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT,
        help="root to write alembic_provider/plugin/proto/ under (default: the repository)",
    )
    args = parser.parse_args(argv)
    for path in generate(args.out):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
