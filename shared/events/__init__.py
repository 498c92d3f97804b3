"""Events: the CloudEvents envelope, the transactional outbox, its relay, and consumers."""

from shared.events.catalog import event_type, registered_events
from shared.events.envelope import CloudEvent
from shared.events.outbox import EventWriter

__all__ = ["CloudEvent", "EventWriter", "event_type", "registered_events"]
