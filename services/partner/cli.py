"""`casebridge partner ...`: build tools for the partner gateway."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

from services.partner.settings import REPO_ROOT
from shared.settings import SERVICES

app = typer.Typer(help="The partner gateway's tools.", no_args_is_help=True)


@app.callback()
def partner() -> None:
    """The partner gateway's tools (a group, so commands keep their names when mounted)."""


def current_document() -> str:
    """Generate the AsyncAPI YAML from every service's registered event models."""
    from shared.events.asyncapi import build_asyncapi, to_yaml
    from shared.events.catalog import registered_events

    for service in SERVICES:  # a build tool may import every service: it fills the catalogue
        importlib.import_module(f"services.{service}.app")
    return to_yaml(build_asyncapi(registered_events()))


@app.command()
def asyncapi(
    output: Annotated[Path, typer.Option(help="Where to write it.")] = REPO_ROOT
    / "docs"
    / "asyncapi.yaml",
    check: Annotated[bool, typer.Option(help="Only check that the file is current.")] = False,
) -> None:
    """Write the AsyncAPI 3.0 document of every topic (docs/asyncapi.yaml)."""
    text = current_document()
    if check:
        if not output.exists() or output.read_text() != text:
            typer.echo(f"{output} is out of date: run `casebridge partner asyncapi`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is current")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    typer.echo(f"wrote {output}")
