"""The committed AsyncAPI document (docs/asyncapi.yaml) matches the event models.

Every service's app module is imported so the catalogue is complete; the document is
regenerated and compared. If this fails, run `casebridge partner asyncapi` and commit it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from shared.events.asyncapi import build_asyncapi, producer_of, to_yaml
from shared.events.catalog import registered_events
from shared.settings import SERVICES

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.yaml"
FIX = "docs/asyncapi.yaml is out of date: run `casebridge partner asyncapi` and commit it"


def _catalogue() -> dict[str, type[BaseModel]]:
    for service in SERVICES:
        importlib.import_module(f"services.{service}.app")
    return registered_events()


def test_the_committed_document_matches_the_event_models():
    committed = yaml.safe_load(DOCUMENT.read_text())
    current = build_asyncapi(_catalogue())
    assert committed == current, FIX
    assert DOCUMENT.read_text() == to_yaml(current), FIX


def test_every_published_event_type_is_documented_with_its_schema():
    catalogue = _catalogue()
    document = build_asyncapi(catalogue)
    messages = document["components"]["messages"]
    schemas = document["components"]["schemas"]
    published = {n for n, m in catalogue.items() if producer_of(m) is not None}
    assert set(messages) == published
    assert {"referral.sent.v1", "consent.withdrawn.v1", "identity.persons_merged.v1"} <= published
    for name in published:
        model = catalogue[name]
        service = producer_of(model)
        channel = document["channels"][service]
        assert channel["address"] == f"casebridge.{service}"
        assert name in channel["messages"]
        ref = messages[name]["payload"]["allOf"][1]["properties"]["data"]["$ref"]
        schema = schemas[ref.rsplit("/", 1)[-1]]
        assert set(schema.get("properties", {})) == set(model.model_fields), name


def test_a_changed_model_no_longer_matches():
    """The comparison is sensitive: one added field changes the document."""
    catalogue = _catalogue()
    before = build_asyncapi(catalogue)
    original = catalogue["referral.accepted.v1"]

    class WithExtra(original):  # type: ignore[misc, valid-type]
        extra: str = Field(description="A field the document does not know.")

    WithExtra.__module__ = original.__module__
    WithExtra.__name__ = WithExtra.__qualname__ = original.__name__
    after = build_asyncapi({**catalogue, "referral.accepted.v1": WithExtra})
    assert after != before


def test_models_outside_the_services_are_not_published():
    class Probe(BaseModel):
        n: int

    document = build_asyncapi({**_catalogue(), "identity.test_only_probe.v1": Probe})
    assert "identity.test_only_probe.v1" not in document["components"]["messages"]
