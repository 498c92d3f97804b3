"""What the audit service keeps beside the shared context: its settings and signing key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.audit.checkpoints.signing import Signer
from services.audit.settings import AuditSettings
from shared.app import Context


def audit_settings(ctx: Context) -> AuditSettings:
    settings: AuditSettings = ctx.state["audit_settings"]
    return settings


def signer(ctx: Context) -> Signer:
    value: Signer = ctx.state["signer"]
    return value


AuditSettingsDep = Annotated[AuditSettings, Depends(audit_settings)]
SignerDep = Annotated[Signer, Depends(signer)]
