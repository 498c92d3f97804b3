"""`casebridge audit ...`: checking the log offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from services.audit.checkpoints.signing import public_key_from_text
from services.audit.verify import Report, verify_export, verify_proof

app = typer.Typer(help="The audit log: offline verification of exports and proofs.")


@app.callback()
def audit() -> None:
    """The audit log: offline verification of exports and proofs."""


def _print(report: Report, as_json: bool, what: str) -> None:
    if as_json:
        typer.echo(json.dumps({"checked": what, **report.as_dict()}, indent=2))
        return
    status = "OK" if report.ok else "TAMPERED OR INVALID"
    typer.echo(f"{what}: {status}")
    typer.echo(
        f"  entries checked: {report.entries}; checkpoints checked: "
        f"{report.checkpoints_checked}; key: {report.key}"
    )
    if report.first_bad is not None:
        typer.echo(f"  first bad entry: position {report.first_bad}")
    for problem in report.problems:
        typer.echo(f"  - {problem}")


@app.command()
def verify(
    export: Annotated[
        Path | None, typer.Argument(help="A JSON Lines export (GET /export).", exists=True)
    ] = None,
    proof: Annotated[
        Path | None,
        typer.Option(help="An inclusion or consistency proof (GET /proofs/...).", exists=True),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(help="The checkpoint key (GET /checkpoints/key): PEM file, or base64."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recheck an export (every entry, chain, Merkle root, signatures) and/or a proof.

    Exits 1 and names the first bad entry when anything does not match.
    """
    if export is None and proof is None:
        raise typer.BadParameter("give an export file, --proof, or both")
    key = None
    if public_key:
        path = Path(public_key)
        key = public_key_from_text(path.read_text() if path.exists() else public_key)
    ok = True
    if export is not None:
        with export.open("rb") as fh:
            report = verify_export(fh, key)
        _print(report, as_json, str(export))
        ok &= report.ok
    if proof is not None:
        report = verify_proof(json.loads(proof.read_text()), key)
        _print(report, as_json, str(proof))
        ok &= report.ok
    raise typer.Exit(0 if ok else 1)
