"""A service is ready only once its consumers have joined their groups, so an event sent the
moment it is ready is not left waiting seconds for a group join."""

from __future__ import annotations

import httpx

from shared.settings import SERVICES


def test_every_ready_service_has_joined_all_its_consumer_groups(system):
    joined = 0
    for name in SERVICES:
        ready = httpx.get(f"{system.url(name)}/readyz", timeout=5)
        assert ready.status_code == 200, name
        assert ready.json()["service"] == name
        consumers = ready.json()["checks"]["consumers"]
        assert all(c["joined"] and c["connected"] for c in consumers.values()), (name, consumers)
        joined += len(consumers)
    assert joined >= 4  # consent, referral, audit and partner all consume events
