"""Every service's migration history builds exactly the schema its models describe."""

from __future__ import annotations

import importlib

import pytest

from shared.db import Database
from shared.migrations import pending_changes, upgrade
from shared.settings import SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_models(service, settings):
    db = Database(settings.database_url_for(service))
    try:
        upgrade(db, service)
        upgrade(db, service)  # applying again at the next start-up is a no-op
        metadata = importlib.import_module(f"services.{service}.models").metadata
        assert pending_changes(db, metadata) == []
    finally:
        db.dispose()
