"""A third-party producer for events/bus/tests/registry_ids.rs: confluent-kafka's
AvroSerializer registers ReleaseInventory's schema (events/schemas) with the
schema registry at REGISTRY and frames each body with the id it assigns; the
envelope comes from the Python example's sagaflow_wire.

    python produce_registered.py BOOTSTRAP REGISTRY TOPIC TENANT COUNT

Prints one JSON line per message acknowledged by the broker: message_id,
saga_id, reason and the schema id of its frame.
"""

import json
import sys
from pathlib import Path

from confluent_kafka import Producer

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "examples" / "python-producer"))
import sagaflow_wire as wire  # noqa: E402


def main():
    bootstrap, registry, topic, tenant, count = sys.argv[1:]
    contract = wire.Contract("ReleaseInventory")
    encode = wire.serializer(contract, registry)
    producer = Producer(wire.producer_config(bootstrap))
    sent = []
    for n in range(int(count)):
        saga_id = wire.uuid7()
        body = {"saga_id": str(saga_id), "reason": f"third-party release {n} \u00e9\u00e8"}
        headers = wire.envelope_headers(contract, tenant, saga_id=saga_id)
        value = encode(body)
        producer.produce(topic, key=str(saga_id), value=value, headers=headers)
        sent.append({
            "message_id": dict(headers)["message-id"].decode(),
            "saga_id": str(saga_id),
            "reason": body["reason"],
            "schema_id": int.from_bytes(value[1:5], "big"),
        })
    if producer.flush(30) != 0:
        raise SystemExit("the broker did not acknowledge every message within 30 s")
    for line in sent:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
