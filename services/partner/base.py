"""The registry every partner table belongs to (apart from models.py to avoid import cycles)."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class Base(SQLModel, registry=registry()):
    """The partner service's tables, in a registry of their own."""
