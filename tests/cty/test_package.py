"""The codec package's surface: what it exports and what it must never import."""

from __future__ import annotations

import subprocess
import sys

from alembic_provider import cty


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(cty) if not name.startswith("_")}
    modules = {"ctytype", "errors", "json_codec", "msgpack_codec", "numeric", "shape", "values"}
    assert set(cty.__all__) == public - modules - {"annotations", "Any"}


def test_importing_the_codec_loads_neither_grpc_nor_protobuf() -> None:
    code = (
        "import sys, alembic_provider.cty; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
