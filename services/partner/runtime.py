"""The partner gateway's runtime pieces, kept on the service context."""

from __future__ import annotations

from services.partner.settings import PartnerSettings
from shared.app import ServiceContext


def partner_settings(ctx: ServiceContext) -> PartnerSettings:
    """This service's own settings (read once at start-up)."""
    config = ctx.state.get("partner_settings")
    if config is None:
        config = ctx.state["partner_settings"] = PartnerSettings()
    return config  # type: ignore[no-any-return]
