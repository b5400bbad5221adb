"""The codec package's surface: what it exports and what it must never import."""

from __future__ import annotations

from alembic_provider import cty
from tests.support import modules_loaded_by


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(cty) if not name.startswith("_")}
    modules = {"ctytype", "errors", "json_codec", "msgpack_codec", "numeric", "shape", "values"}
    assert set(cty.__all__) == public - modules - {"annotations", "Any"}


def test_importing_the_codec_loads_neither_grpc_nor_protobuf() -> None:
    assert modules_loaded_by("import alembic_provider.cty", ["grpc", "google"]) == []
