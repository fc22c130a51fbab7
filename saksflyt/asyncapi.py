"""The Kafka contract as an AsyncAPI 3 document (``docs/asyncapi.json``), generated from the Avro
schemas and the topic layout: every topic with its key, partitions and purpose, every message
version with its Avro payload and CloudEvents headers, and which saksflyt process sends or
receives what. ``saksflyt schemas asyncapi --out docs/asyncapi.json`` writes it; a test keeps it
current and has the AsyncAPI parser (npm ``@asyncapi/parser``) validate it."""

from __future__ import annotations

import dataclasses
from typing import Any

from consumers.topics import TOPIC_SPECS, TopicSpec
from saksflyt.access.checkpoints import Checkpoint
from schemas.kafka_layout import CONTENT_TYPE, dataschema
from schemas.registry import Registry, SchemaVersion

AVRO = "application/vnd.apache.avro+json;version=1.9.0"
KAFKA = {"bindingVersion": "0.5.0"}
REJECTED = "CommandRejected"
CLOUDEVENTS = {
    "ce_specversion": "CloudEvents version, 1.0",
    "ce_id": "event id or command id: the same on a redelivered message (drop duplicates by it)",
    "ce_type": "no.saksflyt.application.<event>.v<N> or no.saksflyt.command.<Command>.v<N>",
    "ce_source": "/kommune/<kommunenummer>/<service> for events, /system/<sender> for commands",
    "ce_subject": "the case id",
    "ce_time": "when it happened (ISO 8601)",
    "ce_dataschema": "the Avro schema the value was written with (schemas/<kind>/<file>)",
    "content-type": CONTENT_TYPE,
}
DEAD_LETTER = {
    "dlq_error_class": "why the consumer gave up: the error's class",
    "dlq_error_message": "and its message (never personal data)",
    "dlq_original_topic": "where the message came from",
    "dlq_original_partition": "its partition",
    "dlq_original_offset": "its offset",
    "dlq_consumer_group": "the consumer group that failed",
    "dlq_failed_at": "when (ISO 8601)",
}


def document(registry: Registry, version: str, prefix: str = "saksflyt") -> dict[str, Any]:
    events = [v for n in registry.names("events") for v in registry.versions(n)]
    commands = [
        v for n in registry.names("commands") if n != REJECTED for v in registry.versions(n)
    ]
    rejected = registry.versions(REJECTED)
    carried = {"events": events, "commands": commands, "commands.rejected": rejected}
    messages = {_id(v): _message(v) for v in (*events, *commands, *rejected)}
    messages["DeadLetter"] = _dead_letter()
    messages["Checkpoint"] = _checkpoint()
    channels = {
        _channel_id(spec): _channel(spec, prefix, carried.get(spec.suffix)) for spec in TOPIC_SPECS
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "saksflyt on Kafka",
            "version": version,
            "description": "Case processing for municipal e-services: commands in, events out, "
            "refusals and dead letters beside them. Values are Avro (single-object encoding, "
            "the schema fingerprint first); CloudEvents in binary mode in the headers; every "
            "topic keyed by case id, so one case's messages keep their order — but the audit "
            "topic of signed checkpoints, whose records are JSON. Topic names "
            f"carry the prefix SAKSFLYT_TOPIC_PREFIX ({prefix}).",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "description": "your cluster (SAKSFLYT_KAFKA); TLS and SASL as docs/security.md",
            }
        },
        "channels": channels,
        "operations": _operations(channels),
        "components": {"messages": messages},
    }


def _id(schema: SchemaVersion) -> str:
    return f"{schema.name}.v{schema.version}"


def _channel_id(spec: TopicSpec) -> str:
    return spec.suffix.replace(".", "-")


def _message(schema: SchemaVersion) -> dict[str, Any]:
    return {
        "name": schema.name,
        "title": f"{schema.name} v{schema.version}",
        "summary": schema.raw.get("doc", ""),
        "contentType": CONTENT_TYPE,
        "headers": _headers(CLOUDEVENTS, {"ce_dataschema": dataschema(schema)}),
        "payload": {"schemaFormat": AVRO, "schema": schema.raw},
        "bindings": {"kafka": {**KAFKA, "key": {"type": "string", "format": "uuid"}}},
    }


def _dead_letter() -> dict[str, Any]:
    return {
        "name": "DeadLetter",
        "title": "A message a consumer could not process",
        "summary": "The original key, value and headers, unchanged, with why in dlq_* headers.",
        "contentType": "application/octet-stream",
        "headers": _headers({**CLOUDEVENTS, **DEAD_LETTER}, {}),
        "payload": {"type": "string", "format": "binary"},
    }


def _headers(described: dict[str, str], fixed: dict[str, str]) -> dict[str, Any]:
    properties = {
        name: {
            "type": "string",
            "description": text,
            **({"const": fixed[name]} if name in fixed else {}),
        }
        for name, text in described.items()
    }
    return {"type": "object", "properties": properties}


def _checkpoint() -> dict[str, Any]:
    types = {"int": "integer", "str": "string"}  # the dataclass's field types, as written
    fields = {f.name: str(f.type) for f in dataclasses.fields(Checkpoint)}
    return {
        "name": "Checkpoint",
        "title": "A signed checkpoint of every hash chain's head",
        "summary": "As a line of checkpoints.jsonl: counts, the Merkle root over the chains' "
        "heads, and the Ed25519 signature over the rest (docs/security.md).",
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "required": sorted(fields),
            "properties": {name: {"type": types[kind]} for name, kind in fields.items()},
        },
        "bindings": {"kafka": {**KAFKA, "key": {"type": "string", "const": "checkpoint"}}},
    }


def _channel(spec: TopicSpec, prefix: str, carried: list[SchemaVersion] | None) -> dict[str, Any]:
    names = [_id(v) for v in carried] if carried is not None else ["DeadLetter"]
    if spec.suffix == "audit.checkpoints":
        names = ["Checkpoint"]
    return {
        "address": f"{prefix}.{spec.suffix}",
        "description": f"{spec.purpose}. Retention: {_retention(spec)}.",
        "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        "bindings": {
            "kafka": {**KAFKA, "topic": f"{prefix}.{spec.suffix}", "partitions": spec.partitions}
        },
    }


def _retention(spec: TopicSpec) -> str:
    ms = int(spec.config.get("retention.ms", "-1"))
    return "forever" if ms < 0 else f"{ms // 86_400_000} days"


# who sends and who receives on each topic: (operation id, action, channel, summary)
PARTIES = (
    ("relaySendsEvents", "send", "events", "saksflyt relay: every stored event, once or more"),
    ("projectorReceivesEvents", "receive", "events", "saksflyt project: the read models"),
    ("noticesReceiveEvents", "receive", "events", "saksflyt notices run: letters to applicants"),
    ("intakeReceivesCommands", "receive", "commands", "saksflyt intake: applied to the cases"),
    ("servicesSendCommands", "send", "commands", "backend services and form portals"),
    ("intakeSendsRefusals", "send", "commands-rejected", "saksflyt intake: with the rule"),
    ("consumersSendEventDeadLetters", "send", "events-dlq", "a consumer that gave up"),
    ("intakeSendsCommandDeadLetters", "send", "commands-dlq", "undecodable or unhandled"),
    ("checkpointSendsCheckpoints", "send", "audit-checkpoints", "saksflyt checkpoint"),
    ("verifyReceivesCheckpoints", "receive", "audit-checkpoints", "saksflyt verify --checkpoints"),
)


def _operations(channels: dict[str, Any]) -> dict[str, Any]:
    return {
        op: {
            "action": action,
            "summary": summary,
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [
                {"$ref": f"#/channels/{channel}/messages/{m}"}
                for m in channels[channel]["messages"]
            ],
        }
        for op, action, channel, summary in PARTIES
    }
