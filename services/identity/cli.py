"""`casebridge identity ...`: maintenance commands for the person index.

`estimate` learns m and u from the records in the index (EM over blocked pairs, u from
random pairs) and saves them as the model file the service reads
(CASEBRIDGE_IDENTITY_MODEL_FILE). Thresholds are kept unless given.

`reindex` rewrites every record's blocking keys and verified identifiers from the current
code and configuration: run it after an upgrade that changes blocking (the release notes say
so) or after changing identifier types. Records stay findable meanwhile by their old keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from sqlalchemy import func, select

from services.identity.config import IdentitySettings
from services.identity.index import PROFILE_COLUMNS, profile_of, sample_rows
from services.identity.index import reindex as reindex_rows
from services.identity.matching.training import train
from services.identity.models import ClientRecord
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
    sample: Annotated[
        int, typer.Option(min=2, help="Records drawn at random from the index to learn from.")
    ] = 200_000,
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
            rows = sample_rows(session, sample)
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
    common = ", ".join(f"{f} {len(names)}" for f, names in model.term_frequencies.items())
    typer.echo(f"common names weighed by their share: {common}")
    typer.echo(f"use it: CASEBRIDGE_IDENTITY_MODEL_FILE={output.resolve()}")


@app.command()
def reindex(
    chunk: Annotated[int, typer.Option(min=1, help="Records per transaction.")] = 2000,
) -> None:
    """Rewrite every record's blocking keys and verified identifiers."""
    settings = Settings().model_copy(update={"service": "identity"})
    config = IdentitySettings()
    db = Database(settings.database_url_for("identity"))
    record_id = PROFILE_COLUMNS[0]
    done = keys = 0
    try:
        upgrade(db, "identity")
        with db.session() as session:
            total = session.execute(select(func.count()).select_from(ClientRecord)).scalar_one()
        last = ""
        with Progress(transient=True) as progress:
            task = progress.add_task("reindexing", total=total)
            while True:
                # By id, a chunk per transaction, rows locked (PostgreSQL) so that an update
                # racing the chunk cannot have its new keys overwritten from its old fields.
                query = select(*PROFILE_COLUMNS).where(record_id > last).order_by(record_id)
                with db.session() as session:
                    rows = session.execute(query.limit(chunk).with_for_update()).all()
                    if not rows:
                        break
                    keys += reindex_rows(session, config, list(rows))
                done += len(rows)
                last = rows[-1].id
                progress.update(task, completed=done)
    finally:
        db.dispose()
    typer.echo(f"reindexed {done} records: {keys} blocking keys")
