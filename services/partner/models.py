"""The partner gateway's tables (every table imported here, for the migrations)."""

from __future__ import annotations

from services.partner.base import Base
from services.partner.deliveries.models import Delivery, DeliveryAttempt
from services.partner.partners.models import Partner
from services.partner.routing.models import (
    KnownPerson,
    Notification,
    PseudonymCache,
    ScopeParties,
)
from services.partner.subscriptions.models import EndpointSecret, WebhookEndpoint

__all__ = [
    "Base",
    "Delivery",
    "DeliveryAttempt",
    "EndpointSecret",
    "KnownPerson",
    "Notification",
    "Partner",
    "PseudonymCache",
    "ScopeParties",
    "WebhookEndpoint",
    "metadata",
]

metadata = Base.metadata
