"""Sagaflow's wire format for Python producers and consumers (confluent-kafka).

What a message on a Sagaflow topic is, as the Rust side reads it
(events/contracts/src/envelope.rs and codec.rs):

- the envelope in Kafka headers: message-id (UUID v7), message-type (the Avro
  record name), schema-version, saga-id, correlation-id, causation-id,
  tenant-id, traceparent (W3C);
- the body in the Confluent wire format: byte 0, the schema id as a big-endian
  u32, then the Avro datum. The id is either the built-in one of
  events/schemas/manifest.json or, with a schema registry, the id the registry
  assigned (the consumers then need SCHEMA_REGISTRY_URL set to the same
  registry);
- the topic and the schema of each message type from manifest.json.
"""

import io
import json
import os
import time
import uuid
from pathlib import Path

import fastavro

SCHEMAS_DIR = Path(
    os.environ.get(
        "SAGAFLOW_SCHEMAS_DIR",
        Path(__file__).resolve().parent.parent.parent / "events" / "schemas",
    )
)


def uuid7():
    """A UUID v7 (48-bit Unix milliseconds, then random bits), like Uuid::now_v7."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms & ((1 << 48) - 1)) << 80
        | 0x7 << 76
        | ((rand >> 62) & 0xFFF) << 64
        | 0b10 << 62
        | rand & ((1 << 62) - 1)
    )
    return uuid.UUID(int=value)


class Contract:
    """One message type of manifest.json: its topic and its versions."""

    def __init__(self, message_type):
        manifest = json.loads((SCHEMAS_DIR / "manifest.json").read_text())
        found = [m for m in manifest["messages"] if m["message_type"] == message_type]
        if not found:
            raise KeyError(f"{message_type} is not in {SCHEMAS_DIR / 'manifest.json'}")
        self.message_type = message_type
        self.topic = found[0]["topic"]
        self.versions = found[0]["versions"]
        current = self.versions[-1]
        self.version = current["version"]
        self.schema_id = current["id"]
        self.schema_text = (SCHEMAS_DIR / current["file"]).read_text()
        self.schema = fastavro.parse_schema(json.loads(self.schema_text))

    def writer_schema(self, schema_id):
        """The parsed schema of one of this type's built-in ids, or None."""
        for version in self.versions:
            if version["id"] == schema_id:
                text = (SCHEMAS_DIR / version["file"]).read_text()
                return fastavro.parse_schema(json.loads(text))
        return None


def envelope_headers(contract, tenant_id, saga_id=None, correlation_id=None):
    """The envelope of a message that starts its own flow, as Kafka headers."""
    message_id = uuid7()
    headers = [
        ("message-id", str(message_id)),
        ("message-type", contract.message_type),
        ("schema-version", str(contract.version)),
    ]
    if saga_id is not None:
        headers.append(("saga-id", str(saga_id)))
    headers += [
        ("correlation-id", str(correlation_id or message_id)),
        ("tenant-id", tenant_id),
        ("traceparent", f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"),
    ]
    return [(name, value.encode()) for name, value in headers]


def header(message, name):
    """A header of a consumed message as text, or None."""
    for key, value in message.headers() or []:
        if key == name and value is not None:
            return value.decode()
    return None


def serializer(contract, registry_url=None):
    """A function record -> framed bytes for `contract`'s current schema.

    Without a registry: fastavro and the built-in schema id. With one:
    confluent-kafka's AvroSerializer, which registers the schema (subject
    `<topic>-<namespace>.<Record>`, as `sagaflow schemas register` names it)
    and frames the datum with the id the registry assigned.
    """
    if not registry_url:
        prefix = b"\0" + contract.schema_id.to_bytes(4, "big")

        def encode(record):
            out = io.BytesIO()
            out.write(prefix)
            fastavro.schemaless_writer(out, contract.schema, record)
            return out.getvalue()

        return encode

    from confluent_kafka.schema_registry import (
        SchemaRegistryClient,
        topic_record_subject_name_strategy,
    )
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    avro = AvroSerializer(
        SchemaRegistryClient({"url": registry_url}),
        contract.schema_text,
        conf={"subject.name.strategy": topic_record_subject_name_strategy},
    )
    context = SerializationContext(contract.topic, MessageField.VALUE)
    return lambda record: avro(record, context)


def decode(contract, payload):
    """The record in a frame written with one of `contract`'s built-in ids."""
    if len(payload) < 5 or payload[0] != 0:
        raise ValueError("not a Confluent frame")
    schema_id = int.from_bytes(payload[1:5], "big")
    writer = contract.writer_schema(schema_id)
    if writer is None:
        raise ValueError(f"schema id {schema_id} is not one of {contract.message_type}'s")
    return fastavro.schemaless_reader(io.BytesIO(payload[5:]), writer, contract.schema)


def producer_config(bootstrap_servers):
    """Producer settings: idempotent, acks=all, an explicit linger.ms."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    }


def consumer_config(bootstrap_servers):
    """Consumer settings for reading assigned partitions (no group offsets).

    The local brokers (Nisshi, the mock cluster) do not answer a waiting fetch
    when data arrives: fetch.wait.max.ms stays small.
    """
    return {
        "bootstrap.servers": bootstrap_servers,
        "group.id": f"python-example-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 10,
    }
