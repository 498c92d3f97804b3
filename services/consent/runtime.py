"""What the consent service's requests share beyond the common context: its own settings,
the receipt signer and the in-memory agreement index. Built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from services.consent.agreements.index import AgreementCache
from services.consent.consents.receipts import ReceiptSigner
from services.consent.settings import ConsentSettings
from shared.app import ServiceContext, get_context


@dataclass
class ConsentRuntime:
    own: ConsentSettings
    signer: ReceiptSigner
    agreements: AgreementCache = field(default_factory=AgreementCache)


def start(ctx: ServiceContext) -> None:
    own = ConsentSettings()
    ctx.state["consent"] = ConsentRuntime(own=own, signer=ReceiptSigner.load(ctx.settings, own))


def runtime_of(ctx: ServiceContext) -> ConsentRuntime:
    runtime: ConsentRuntime = ctx.state["consent"]
    return runtime


async def _runtime(request: Request) -> ConsentRuntime:
    # async: a sync dependency would cost a thread-pool hop on every request
    return runtime_of(get_context(request))


Runtime = Annotated[ConsentRuntime, Depends(_runtime)]
