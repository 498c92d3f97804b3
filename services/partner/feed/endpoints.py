"""The pull feed: a partner without a public endpoint reads its notifications by cursor."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import col, select

from services.partner.auth import ActivePartner
from services.partner.routing.models import Notification
from services.partner.runtime import partner_settings
from shared.app import Context
from shared.db import SessionDep

router = APIRouter(tags=["feed"])


class FeedPage(BaseModel):
    items: list[dict[str, Any]] = Field(description="CloudEvents, oldest first.")
    next_cursor: str = Field(description="Pass as `after` next time (unchanged when empty).")


@router.get("/feed", response_model=FeedPage)
def read_feed(
    partner: ActivePartner,
    ctx: Context,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, description="The cursor from the previous page.")] = 0,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> FeedPage:
    """The partner's notifications after the cursor, only of types it is still allowed."""
    config = partner_settings(ctx)
    size = min(limit or config.feed_page_default, config.feed_page_max)
    rows = session.exec(
        select(Notification)
        .where(
            Notification.partner_id == partner.id,
            col(Notification.position) > after,
            col(Notification.event_type).in_(partner.allowed_types),
        )
        .order_by(col(Notification.position))
        .limit(size)
    ).all()
    cursor = str(rows[-1].position) if rows else str(after)
    return FeedPage(items=[json.loads(r.body) for r in rows], next_cursor=cursor)
