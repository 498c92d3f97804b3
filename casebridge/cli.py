"""The `casebridge` command: run the system, mint development tokens, manage migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from shared.settings import SERVICES, Settings

app = typer.Typer(
    help="Casebridge: consent-gated case sharing between public agencies.", no_args_is_help=True
)
migrate = typer.Typer(help="Schema migrations (Alembic), one history per service.")
app.add_typer(migrate, name="migrate")


def _mount_service_commands() -> None:
    """Each service may bring its own command group (services/<name>/cli.py)."""
    import importlib

    for name in SERVICES:
        try:
            module = importlib.import_module(f"services.{name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{name}.cli":
                raise
            continue
        app.add_typer(module.app, name=name)


_mount_service_commands()


@app.command()
def up(demo: Annotated[bool, typer.Option(help="Load demo agencies and people.")] = True) -> None:
    """Start the broker, every service and demo data; print URLs and tokens."""
    from casebridge.runtime import up as run_up

    run_up(Settings(), demo=demo)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of {', '.join(SERVICES)}.")],
    port: int | None = None,
    host: str | None = None,
) -> None:
    """Run one service (what each container runs in production)."""
    import importlib

    import uvicorn

    from shared.collector import settle_heap

    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}")
    settings = Settings(service=service)
    module = importlib.import_module(f"services.{service}.app")
    app = module.build(settings)
    settle_heap()
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.service_port(service),
        log_level="warning",
        access_log=False,
    )


@app.command()
def token(
    role: Annotated[
        str,
        typer.Option(
            help="caseworker, ig_officer, auditor, client, partner_system, admin, service"
        ),
    ],
    sub: Annotated[str, typer.Option(help="Who the token is for.")],
    agency: Annotated[str | None, typer.Option(help="The agency the user acts for.")] = None,
    person: Annotated[str | None, typer.Option(help="For a client: the person they are.")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Mint a development token signed with the local key (never a bypass: services verify it)."""
    from shared.auth.tokens import mint_token

    settings = Settings()
    if settings.env == "production":
        raise typer.BadParameter("tokens come from your identity provider in production")
    try:
        typer.echo(
            mint_token(
                settings, sub=sub, agency=agency, roles=[role], person=person, ttl_seconds=ttl
            )
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@migrate.command("revision")
def revision(service: str, message: Annotated[str, typer.Option("-m")]) -> None:
    """Autogenerate a migration for SERVICE from its models (against a scratch database)."""
    import tempfile

    from alembic import command

    from shared.db import Database
    from shared.migrations import alembic_config, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/scratch.db")
        upgrade(db, service)
        cfg = alembic_config(service, db.url)
        command.revision(cfg, message=message, autogenerate=True)


if __name__ == "__main__":
    app()
