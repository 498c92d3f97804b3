"""`casebridge identity ...`: maintenance commands for the person index.

`estimate` learns m and u from the records in the index (EM over blocked pairs, u from
random pairs) and saves them as the model file the service reads
(CASEBRIDGE_IDENTITY_MODEL_FILE). Thresholds are kept unless given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from services.identity.config import IdentitySettings
from services.identity.index import PROFILE_COLUMNS, profile_of
from services.identity.matching.training import train
from shared.db import Database
from shared.migrations import upgrade
from shared.settings import Settings

app = typer.Typer(help="The identity service's person index.", no_args_is_help=True)


@app.callback()
def identity() -> None:
    """The identity service's person index (a group, so commands keep their names)."""


@app.command()
def estimate(
    output: Annotated[Path, typer.Option(help="Where to write the model (JSON).")] = Path(
        "identity-model.json"
    ),
    sample: Annotated[int, typer.Option(help="At most this many records are used.")] = 200_000,
    iterations: Annotated[int, typer.Option(help="EM iterations.")] = 30,
    upper: Annotated[float | None, typer.Option(help="Upper threshold (link).")] = None,
    lower: Annotated[float | None, typer.Option(help="Lower threshold (review).")] = None,
) -> None:
    """Estimate m and u from the index's own records and save them."""
    settings = Settings().model_copy(update={"service": "identity"})
    config = IdentitySettings()
    db = Database(settings.database_url_for("identity"))
    try:
        upgrade(db, "identity")
        with db.session() as session:
            rows = session.execute(select(*PROFILE_COLUMNS).limit(sample)).all()
        profiles = [profile_of(config, r) for r in rows]
    finally:
        db.dispose()
    if len(profiles) < 2:
        raise typer.BadParameter("the index holds fewer than two records: nothing to learn from")
    model = train(profiles, config.model, iterations=iterations)
    if upper is not None:
        model.upper = upper
    if lower is not None:
        model.lower = lower
    model.save(output)
    typer.echo(f"estimated from {len(profiles)} records -> {output}")
    weights = {
        f: {k: round(v, 2) for k, v in levels.items()} for f, levels in model.weights.items()
    }
    typer.echo(json.dumps(weights, indent=1))
    typer.echo(f"use it: CASEBRIDGE_IDENTITY_MODEL_FILE={output.resolve()}")
