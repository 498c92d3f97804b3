"""The AsyncAPI 3.0 document of every topic and event type, generated from the catalogue.

Pure: give it the registered event models (`registered_events()`) and the topic naming, get a
document (a dict, ready for YAML). One channel per producing service's topic; one message per
event type, whose payload is the CloudEvents envelope with `data` the model's JSON Schema.
Only models defined in `services.<name>...` are documented: they are what the services publish.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.events.envelope import CloudEvent, source_of

REF = "#/components/schemas/{model}"


def producer_of(model: type[BaseModel]) -> str | None:
    """The service that publishes a model's events (`services.consent.events` -> consent)."""
    parts = model.__module__.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "services" else None


def default_topic(service: str) -> str:
    """The topic naming of `Settings.topic` with the default prefix."""
    return f"casebridge.{service}"


def _envelope_schema() -> dict[str, Any]:
    schema = CloudEvent.model_json_schema()
    schema["description"] = (
        "CloudEvents 1.0, structured JSON mode. `sequence` counts each source's events from 1 "
        "without gaps; `partitionkey` is the Kafka key (the person the event concerns)."
    )
    return schema


def _message(name: str, schema_name: str, service: str, doc: str | None) -> dict[str, Any]:
    summary = (doc or "").strip().split("\n\n")[0].replace("\n", " ")
    return {
        "name": name,
        "title": name,
        "summary": summary or name,
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {
                "ce_type": {"type": "string", "const": name},
                "ce_id": {"type": "string", "description": "The event id."},
                "traceparent": {"type": "string", "description": "W3C trace context."},
            },
            "required": ["ce_type", "ce_id"],
        },
        "payload": {
            "allOf": [
                {"$ref": REF.format(model="CloudEvent")},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": name},
                        "source": {"const": source_of(service)},
                        "data": {"$ref": REF.format(model=schema_name)},
                    },
                    "required": ["type", "source", "data"],
                },
            ]
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The ordering key (a person id)."},
                "bindingVersion": "0.5.0",
            }
        },
    }


def build_asyncapi(
    events: Mapping[str, type[BaseModel]],
    topic_of: Callable[[str], str] = default_topic,
    *,
    version: str = "1",
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document for `events` (event type name -> data model)."""
    published = {n: m for n, m in sorted(events.items()) if producer_of(m) is not None}
    models = sorted(set(published.values()), key=lambda m: (m.__module__, m.__qualname__))
    keys, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schema_names = {m: keys[(m, "validation")]["$ref"].rsplit("/", 1)[-1] for m in models}
    schemas: dict[str, Any] = {"CloudEvent": _envelope_schema()}
    schemas.update(dict(sorted(defs.get("$defs", {}).items())))

    by_service: dict[str, list[str]] = defaultdict(list)
    for name, model in published.items():
        by_service[producer_of(model) or ""].append(name)

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for service in sorted(by_service):
        names = by_service[service]
        channels[service] = {
            "address": topic_of(service),
            "title": f"Events of the {service} service",
            "description": f"Every event the {service} service publishes. The Kafka key is "
            "what the event is about (the person id for a person's events), so those events "
            "stay in order.",
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        }
        operations[f"receive_{service}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{service}"},
            "messages": [{"$ref": f"#/channels/{service}/messages/{n}"} for n in names],
        }
        for n in names:
            model = published[n]
            messages[n] = _message(n, schema_names[model], service, model.__doc__)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Casebridge events",
            "version": version,
            "description": "Topics and event types of the Casebridge services. Events carry "
            "ids and pseudonyms, never names, dates of birth, identifiers or case details. "
            "Partner systems receive them through the partner gateway (signed webhooks per "
            "Standard Webhooks, or GET /feed), filtered to their agency, with `*person_id` "
            "fields replaced by the agency's pseudonym in `*person`.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def to_yaml(document: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
