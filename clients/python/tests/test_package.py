"""The package itself: its version follows the proto package, its stubs follow Protos/."""

from __future__ import annotations

import os
import re
import tempfile

from google.protobuf import descriptor_pb2

import spectra_bulk
from spectra.bulk.v1 import bulk_pb2

from .conftest import ROOT

PROTO = os.path.join(ROOT, "Protos", "spectra", "bulk", "v1", "bulk.proto")


def test_the_major_version_is_the_proto_packages() -> None:
    with open(PROTO) as f:
        package = re.search(r"^package\s+([\w.]+);", f.read(), re.M).group(1)  # type: ignore[union-attr]
    assert package == spectra_bulk.PROTO_PACKAGE == "spectra.bulk.v1"
    assert spectra_bulk.__version__.split(".")[0] == package.rsplit(".v", 1)[1]


def test_the_committed_stubs_match_protos() -> None:
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="spectra-descriptor-")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    set_path = os.path.join(out, "set.pb")
    status = protoc.main(
        ["protoc", f"--proto_path={os.path.join(ROOT, 'Protos')}", f"--proto_path={include}",
         f"--descriptor_set_out={set_path}", "spectra/bulk/v1/bulk.proto"]
    )
    assert status == 0
    fresh = descriptor_pb2.FileDescriptorSet()
    with open(set_path, "rb") as f:
        fresh.ParseFromString(f.read())
    fresh_file = fresh.file[0]
    # The stubs embed the descriptor without json_name, which protoc's descriptor set carries.
    for message in fresh_file.message_type:
        for field in message.field:
            field.ClearField("json_name")
    committed = descriptor_pb2.FileDescriptorProto.FromString(bulk_pb2.DESCRIPTOR.serialized_pb)
    assert fresh_file == committed, "the stubs are stale: run clients/python/generate.sh"


def test_the_package_is_typed() -> None:
    assert os.path.exists(os.path.join(os.path.dirname(spectra_bulk.__file__), "py.typed"))
