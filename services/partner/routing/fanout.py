"""Turning one event into notifications for the partners it concerns, and their deliveries.

Only active partners of the concerned agencies, only the types each is allowed; each gets its
own copy with persons under its agency's pseudonym. Each of the partner's endpoints subscribed
to the type gets a delivery with the endpoint's next sequence number.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, select

from services.partner.deliveries.models import Delivery
from services.partner.partners.models import Partner
from services.partner.routing.concerns import REMEMBERED_SCOPES, concerned_agencies
from services.partner.routing.memory import RoutingMemory
from services.partner.routing.models import Notification
from services.partner.routing.payloads import envelope, partner_data, person_fields
from services.partner.routing.pseudonyms import Pseudonyms
from services.partner.subscriptions.models import WebhookEndpoint
from shared.events.envelope import CloudEvent, utcnow

log = logging.getLogger(__name__)


@dataclass
class Audience:
    """The active partners and their live endpoints, loaded once per batch."""

    partners: dict[str, list[Partner]] = field(default_factory=lambda: defaultdict(list))
    endpoints: dict[str, list[WebhookEndpoint]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def load(cls, session: Session) -> Audience:
        audience = cls()
        for partner in session.exec(select(Partner).where(Partner.status == "active")).all():
            audience.partners[partner.agency].append(partner)
        live = select(WebhookEndpoint).where(WebhookEndpoint.status != "deleted")
        for endpoint in session.exec(live.order_by(WebhookEndpoint.id)).all():  # type: ignore[arg-type]
            audience.endpoints[endpoint.partner_id].append(endpoint)
        return audience


def _dump(body: dict[str, object]) -> str:
    return json.dumps(body, separators=(",", ":"), sort_keys=False)


@dataclass
class Outgoing:
    """Rows made for a batch, inserted together at its end."""

    notifications: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)


def route_events(
    session: Session, events: list[CloudEvent], pseudonyms: Pseudonyms
) -> list[Notification]:
    """Notify the partners each event concerns, in the order of `events`."""
    memory = RoutingMemory(session)
    outgoing = Outgoing()
    with session.no_autoflush:
        audience = Audience.load(session)
        for event in events:
            _route(session, event, memory, audience, pseudonyms, outgoing)
    if outgoing.notifications:
        session.execute(insert(Notification), outgoing.notifications)
    if outgoing.deliveries:
        session.execute(insert(Delivery), outgoing.deliveries)
    memory.save()
    session.flush()
    return [Notification(**n) for n in outgoing.notifications]


def _route(
    session: Session,
    event: CloudEvent,
    memory: RoutingMemory,
    audience: Audience,
    pseudonyms: Pseudonyms,
    outgoing: Outgoing,
) -> None:
    data = event.data
    agencies = concerned_agencies(event.type, data, memory)
    persons = [data[f] for f in person_fields(data)]
    if event.type == "identity.record_registered.v1" and isinstance(data.get("pseudonym"), str):
        pseudonyms.remember(session, data["agency"], data["person_id"], data["pseudonym"])
    now = utcnow()
    for agency in sorted(agencies):
        for partner in audience.partners.get(agency, []):
            if event.type not in partner.allowed_types:
                continue
            names: dict[str, str] = {}
            for person_id in persons:
                found = pseudonyms.of(session, agency, person_id)
                if found is None:
                    break
                names[person_id] = found
            if len(names) < len(set(persons)):
                # Without the agency's pseudonym we send nothing (never the internal id).
                log.warning("no %s pseudonym for a person in event %s; withheld", agency, event.id)
                continue
            subject = names[persons[0]] if persons else None
            message_id = "msg_" + secrets.token_hex(12)
            shown = partner_data(data, names.__getitem__)
            common = {
                "message_id": message_id,
                "source": event.source,
                "event_type": event.type,
                "time": event.time.isoformat(),
                "subject": subject,
                "data": shown,
            }
            ordering_key = subject or event.partitionkey or event.id
            outgoing.notifications.append(
                {
                    "id": message_id,
                    "partner_id": partner.id,
                    "agency": agency,
                    "event_id": event.id,
                    "event_type": event.type,
                    "ordering_key": ordering_key,
                    "body": _dump(envelope(**common)),  # type: ignore[arg-type]
                    "event_time": event.time,
                    "created_at": now,
                }
            )
            for endpoint in audience.endpoints.get(partner.id, []):
                if event.type not in endpoint.event_types:
                    continue
                endpoint.last_sequence += 1
                session.add(endpoint)
                outgoing.deliveries.append(
                    {
                        "endpoint_id": endpoint.id,
                        "partner_id": partner.id,
                        "message_id": message_id,
                        "event_type": event.type,
                        "sequence": endpoint.last_sequence,
                        "ordering_key": ordering_key,
                        "body": _dump(envelope(**common, sequence=endpoint.last_sequence)),  # type: ignore[arg-type]
                        "status": "pending",
                        "attempts": 0,
                        "replays": 0,
                        "next_attempt_at": now,
                        "event_time": event.time,
                        "created_at": now,
                    }
                )
            memory.remember_known(agency, persons)
    _remember_scope(event, agencies, memory)


def _remember_scope(event: CloudEvent, agencies: set[str], memory: RoutingMemory) -> None:
    id_field = REMEMBERED_SCOPES.get(event.type)
    if id_field and isinstance(event.data.get(id_field), str):
        memory.remember_parties(event.data[id_field], agencies)
    if event.type == "identity.persons_merged.v1":
        # Whoever knew the merged person now knows the survivor.
        survivor = event.data.get("survivor_person_id")
        merged = event.data.get("merged_person_id")
        if isinstance(survivor, str) and isinstance(merged, str):
            for agency in memory.agencies_knowing([merged]):
                memory.remember_known(agency, [survivor])
