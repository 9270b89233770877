#!/usr/bin/env python3
"""Starts a checkout saga on a running Sagaflow platform from Python, and follows it.

It produces what the gateway's POST /v1/checkouts puts on Kafka: an
InitiateCheckout on orchestrator.commands, keyed by the checkout id (which
becomes the saga id), with the envelope in headers (tenant-id = the tenant,
the user in the body). The command names SKUs and quantities only: prices come
from the catalogue, in the saga's pricing step, and the command has no field
for one. Then it reads orchestrator.events until the orchestrator's
SagaFinished for that saga arrives, and exits 0 if the checkout completed.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 ./start_checkout.py --tenant demo --user ada

Exit status: 0 completed; 1 the saga finished otherwise (declined, out of
stock: it was compensated); 2 no SagaFinished within --timeout seconds.
With SCHEMA_REGISTRY_URL set, the body is framed with the id the registry
assigns (the platform's consumers must have the same SCHEMA_REGISTRY_URL).
"""

import argparse
import os
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

import sagaflow_wire as wire


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--schema-registry-url", default=os.environ.get("SCHEMA_REGISTRY_URL"))
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--sku", default="MUG-BLUE")
    parser.add_argument("--quantity", type=int, default=1)
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--shipping-country", default="FR")
    parser.add_argument("--payment-method", default="card")
    parser.add_argument("--email", default="ada@example.com")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the end")
    args = parser.parse_args()
    if not args.bootstrap_servers:
        parser.error("set KAFKA_BOOTSTRAP_SERVERS (or --bootstrap-servers)")
    return args


def follow_from_now(bootstrap, topic):
    """A consumer assigned to every partition of `topic` at its current end, so
    that nothing published after this call is missed."""
    consumer = Consumer(wire.consumer_config(bootstrap))
    metadata = consumer.list_topics(topic, timeout=10)
    partitions = metadata.topics[topic].partitions
    if not partitions:
        raise SystemExit(f"topic {topic} does not exist: is the platform up?")
    assignment = []
    for partition in partitions:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        assignment.append(TopicPartition(topic, partition, high))
    consumer.assign(assignment)
    return consumer


def main():
    args = arguments()
    command = wire.Contract("InitiateCheckout")
    finished = wire.Contract("SagaFinished")
    events = follow_from_now(args.bootstrap_servers, finished.topic)

    checkout_id = wire.uuid7()
    body = {
        "checkout_id": str(checkout_id),
        "user_id": args.user,
        "cart_id": str(wire.uuid7()),
        "items": [{"sku": args.sku, "quantity": args.quantity}],
        "currency": args.currency,
        "payment_method": args.payment_method,
        "customer_email": args.email,
        "discount_code": None,
        "shipping_country": args.shipping_country,
    }
    encode = wire.serializer(command, args.schema_registry_url)
    producer = Producer(wire.producer_config(args.bootstrap_servers))
    producer.produce(
        command.topic,
        key=str(checkout_id),
        value=encode(body),
        headers=wire.envelope_headers(command, args.tenant, saga_id=checkout_id),
    )
    if producer.flush(30) != 0:
        raise SystemExit("the InitiateCheckout was not acknowledged by the broker within 30 s")
    print(f"started checkout {checkout_id} for {args.tenant}/{args.user}: "
          f"{args.quantity} x {args.sku} on {command.topic}", flush=True)

    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            message = events.poll(0.2)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            if wire.header(message, "message-type") != finished.message_type:
                continue
            result = wire.decode(finished, message.value())
            if str(result["saga_id"]) != str(checkout_id):
                continue
            tenant = wire.header(message, "tenant-id")
            if tenant != args.tenant or result["user_id"] != args.user:
                raise SystemExit(f"the saga finished for {tenant}/{result['user_id']}, "
                                 f"not {args.tenant}/{args.user}")
            outcome = result["result"] or {}
            print(f"checkout {checkout_id}: {result['status']}"
                  + (f", {outcome['name']} {outcome['id']}" if outcome else "")
                  + (f" ({result['reason']})" if result["reason"] else ""))
            return 0 if result["status"] == "COMPLETED" else 1
    finally:
        events.close()
    print(f"checkout {checkout_id}: no SagaFinished within {args.timeout:.0f} s", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
