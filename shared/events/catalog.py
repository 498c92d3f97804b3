"""The catalogue of event types: each versioned name bound to the pydantic model of its data.

Registering here is what makes an event type publishable, and it is what the partner
documentation (JSON Schema, AsyncAPI) is generated from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=type[BaseModel])

_REGISTRY: dict[str, type[BaseModel]] = {}


def event_type(name: str) -> Callable[[M], M]:
    """Bind a versioned event type name (`consent.withdrawn.v1`) to its data model."""
    if name.count(".") < 2 or not name.rsplit(".", 1)[1].startswith("v"):
        raise ValueError(f"event type {name!r} must look like 'service.thing_happened.vN'")

    def register(model: M) -> M:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.__qualname__ != model.__qualname__:
            raise ValueError(f"event type {name!r} is already bound to {existing.__name__}")
        _REGISTRY[name] = model
        model.__event_type__ = name  # type: ignore[attr-defined]
        return model

    return register


def type_of(model: BaseModel) -> str:
    name = getattr(type(model), "__event_type__", None)
    if name is None:
        raise TypeError(f"{type(model).__name__} is not a registered event type")
    return str(name)


def model_for(name: str) -> type[BaseModel] | None:
    return _REGISTRY.get(name)


def registered_events() -> dict[str, type[BaseModel]]:
    return dict(sorted(_REGISTRY.items()))
