"""Decoding the protobuf bodies kubectl 1.32 sends (``kubectl create namespace``,
``create secret``, ``create deployment``, ...), into the JSON the API takes.

No hand-written field tables: every kubectl binary embeds, gzipped, the
FileDescriptorProto of each ``k8s.io/api/**/generated.proto`` it was built with.
The first protobuf request reads them from the kubectl on PATH (about 0.2 s for
a 57 MB binary), builds a descriptor pool, and from then on decodes the
``k8s\\x00`` + ``runtime.Unknown`` envelope to the typed message, printed the way
Go's encoding/json prints the struct (IntOrString, Time, Quantity, bytes as
base64, empty fields omitted).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import threading
import zlib
from typing import Any

_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"
ENVELOPE = b"k8s\x00"


class ProtobufUnavailable(Exception):
    """No kubectl binary with Kubernetes descriptors could be found or read."""


def _descriptor_protos(binary: bytes) -> dict[str, Any]:
    from google.protobuf import descriptor_pb2

    found: dict[str, Any] = {}
    position = -1
    while (position := binary.find(_GZIP_HEADER, position + 1)) >= 0:
        try:
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(binary[position:position + 1_000_000])
            descriptor = descriptor_pb2.FileDescriptorProto.FromString(raw)
        except Exception:  # most gzip-looking bytes in a binary are not descriptors
            continue
        if descriptor.name.endswith("generated.proto") and descriptor.name.startswith("k8s.io/"):
            # gogo.proto carries only code-generation options; nothing references its types.
            kept = [dependency for dependency in descriptor.dependency if "gogo" not in dependency]
            del descriptor.dependency[:]
            descriptor.dependency.extend(kept)
            found[descriptor.name] = descriptor
    return found


class Decoder:
    def __init__(self, kubectl: str | None = None) -> None:
        self._kubectl = kubectl
        self._pool: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        from google.protobuf import descriptor_pool

        path = self._kubectl or os.environ.get("LABRUNNER_KUBECTL") or shutil.which("kubectl")
        if not path:
            raise ProtobufUnavailable("no kubectl on PATH to read Kubernetes' protobuf descriptors from")
        try:
            with open(path, "rb") as handle:
                protos = _descriptor_protos(handle.read())
        except OSError as error:
            raise ProtobufUnavailable(f"cannot read {path}: {error}") from None
        if not protos:
            raise ProtobufUnavailable(f"{path} carries no Kubernetes protobuf descriptors")
        pool = descriptor_pool.DescriptorPool()
        pending = dict(protos)
        while pending:
            ready = [name for name, proto in pending.items() if all(d not in pending for d in proto.dependency)]
            if not ready:
                raise ProtobufUnavailable("the descriptors in kubectl import each other in a cycle")
            for name in ready:
                pool.Add(pending.pop(name))
        return pool

    @property
    def pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                self._pool = self._load()
            return self._pool

    def decode(self, body: bytes) -> dict[str, Any]:
        """The object in a protobuf request body, as JSON-shaped data.

        Raises:
            ValueError: not a Kubernetes protobuf envelope, or a kind kubectl does not describe.
            ProtobufUnavailable: no descriptors to decode with.
        """
        from google.protobuf import message_factory

        if not body.startswith(ENVELOPE):
            raise ValueError("not a Kubernetes protobuf body (no k8s\\0 envelope)")
        pool = self.pool
        unknown_type = pool.FindMessageTypeByName("k8s.io.apimachinery.pkg.runtime.Unknown")
        unknown = message_factory.GetMessageClass(unknown_type).FromString(body[len(ENVELOPE):])
        api_version, kind = unknown.typeMeta.apiVersion, unknown.typeMeta.kind
        try:
            message_type = pool.FindMessageTypeByName(f"{_package(api_version)}.{kind}")
        except KeyError:
            raise ValueError(f"kubectl's descriptors do not describe {api_version} {kind}") from None
        message = message_factory.GetMessageClass(message_type).FromString(unknown.raw)
        return {"apiVersion": api_version, "kind": kind, **_go_json(message)}


def _package(api_version: str) -> str:
    group, _, version = api_version.rpartition("/")
    if not group:
        group = "core"
    elif group.endswith(".k8s.io"):
        group = group.split(".")[0]  # networking.k8s.io -> networking
    return f"k8s.io.api.{group}.{version}"


INLINE = frozenset({
    ("k8s.io.api.networking.v1.IngressRule", "ingressRuleValue"),
    ("k8s.io.api.networking.v1beta1.IngressRule", "ingressRuleValue"),
    ("k8s.io.api.core.v1.Volume", "volumeSource"),
    ("k8s.io.api.core.v1.PersistentVolumeSpec", "persistentVolumeSource"),
    ("k8s.io.api.core.v1.Probe", "handler"),
    ("k8s.io.api.core.v1.EphemeralContainer", "ephemeralContainerCommon"),
})
"""Fields Go embeds with ``json:",inline"``: protobuf names them, encoding/json merges their
fields into the parent (``kubectl create ingress`` sends a rule's ``http`` inside
``ingressRuleValue``)."""


def _repeated(field: Any) -> bool:
    # protobuf 6 added is_repeated and protobuf 7 removed label.
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(field.label == field.LABEL_REPEATED)


def _go_json(message: Any) -> Any:
    from google.protobuf.descriptor import FieldDescriptor

    name = message.DESCRIPTOR.full_name
    if name == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        return message.intVal if message.type == 0 else message.strVal
    if name in ("k8s.io.apimachinery.pkg.apis.meta.v1.Time", "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"):
        if not message.seconds:
            return None
        return datetime.datetime.fromtimestamp(message.seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if name == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        return message.string
    if name == "k8s.io.apimachinery.pkg.runtime.RawExtension":
        return json.loads(message.raw) if message.raw else None

    def scalar(field: Any, value: Any) -> Any:
        return base64.b64encode(value).decode() if field.type == FieldDescriptor.TYPE_BYTES else value

    result: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            converted: Any = {
                key: _go_json(item) if value_field.type == FieldDescriptor.TYPE_MESSAGE else scalar(value_field, item)
                for key, item in value.items()
            }
        elif _repeated(field):
            converted = [_go_json(item) if field.type == FieldDescriptor.TYPE_MESSAGE else scalar(field, item) for item in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            converted = _go_json(value)
        else:
            converted = scalar(field, value)
        # gogo's proto2 encoding writes every non-pointer field; encoding/json's omitempty
        # drops the zero ones. replicas is a pointer in Go, so an explicit 0 is kept.
        if converted is None or converted is False or converted in ("", {}, []) or (
            type(converted) is int and converted == 0 and field.name != "replicas"
        ):
            continue
        if (name, field.name) in INLINE and isinstance(converted, dict):
            result.update(converted)
            continue
        result[field.name] = converted
    return result
