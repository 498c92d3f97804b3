"""What the identity logic needs from its surroundings, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from services.identity.config import IdentitySettings
from shared.app import ServiceContext
from shared.auth.keys import load_secret


@dataclass(frozen=True)
class Identity:
    config: IdentitySettings
    secret: bytes  # the pseudonym key

    @classmethod
    def of(cls, ctx: ServiceContext) -> Identity:
        cached = ctx.state.get("identity")
        if cached is None:
            cached = cls(IdentitySettings(), load_secret(ctx.settings, "pseudonyms"))
            ctx.state["identity"] = cached
        return cached  # type: ignore[no-any-return]
