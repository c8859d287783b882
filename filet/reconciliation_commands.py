"""`filet statements import|account|funding`, `filet redemptions import` and `filet audit verify`: the
reconciliation service from a shell."""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import httpx

from shared.auth import Principal
from shared.settings import Settings

FORMATS = ("camt.053", "mt940", "operator_csv")
_FORMAT_OF_SUFFIX = {
    ".xml": "camt.053",
    ".sta": "mt940",
    ".mt940": "mt940",
    ".940": "mt940",
    ".csv": "operator_csv",
}


def _dev_token() -> str | None:
    """The operator token `filet up` wrote for development, if there is one."""
    path = Settings().data_dir / "dev-tokens.json"
    if not path.exists():
        return None
    tokens: dict[str, str] = json.loads(path.read_text())
    return next((token for name, token in tokens.items() if name.startswith("operator")), None)


def _chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(size):
            yield chunk


def _token(given: str | None) -> str:
    token = given or os.environ.get("FILET_TOKEN") or _dev_token()
    if not token:
        raise click.UsageError("no token: pass --token, set FILET_TOKEN, or run `filet up` for dev tokens")
    return token


def _post_file(
    url: str, path: str, file: Path, token: str, *, params: dict[str, str] | None = None
) -> httpx.Response:
    """POST the file streamed; a ClickException with the API's error code and message unless 201."""
    with httpx.Client(base_url=url, timeout=httpx.Timeout(60, read=900)) as client:
        answer = client.post(
            path,
            params=params or {},
            content=_chunks(file),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
        )
    if answer.status_code != 201:
        try:
            error = answer.json()["error"]
            message = f"{answer.status_code} {error['code']}: {error['message']}"
        except (ValueError, KeyError):
            message = f"{answer.status_code}: {answer.text[:500]}"
        raise click.ClickException(message)
    return answer


def _shell_principal() -> Principal:
    return Principal(token_id=uuid.UUID(int=0), name=f"cli:{getpass.getuser()}", role="admin")


@click.group()
def statements() -> None:
    """Provider and bank statements: import them, and say which accounts and fundings are ours."""


@statements.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "statement_format", type=click.Choice(FORMATS), help="default: from the file suffix"
)
@click.option("--url", default="http://127.0.0.1:8003", show_default=True, help="the reconciliation API")
@click.option("--token", help="an operator's bearer token (default: $FILET_TOKEN, then the dev token)")
def import_statement(file: Path, statement_format: str | None, url: str, token: str | None) -> None:
    """Import FILE through the API (streamed): checked and matched as a whole, or refused with the reason."""
    token = _token(token)
    chosen = statement_format or _FORMAT_OF_SUFFIX.get(file.suffix.lower())
    if chosen is None:
        raise click.UsageError(f"cannot tell the format of {file.name}: pass --format ({', '.join(FORMATS)})")
    answer = _post_file(url, "/v1/statements", file, token, params={"format": chosen})
    for item in answer.json()["statements"]:
        click.echo(f"statement {item['statement_id']} of account {item['account_id']}: {item['lines']} lines")
        for outcome, count in item["outcomes"].items():
            click.echo(f"  {outcome:<20} {count:>8}")
        for check in item["checks"]:
            if not check["passed"]:
                click.echo(f"  check {check['check']} failed (recorded): {check['reason']}")
        click.echo(f"  new discrepancies    {item['discrepancies_found']:>8}")


@statements.command("account")
@click.argument("account_id")
@click.option("--provider", required=True, help="whose money the account holds (bank, orange_money…)")
def add_account(account_id: str, provider: str) -> None:
    """Make ACCOUNT_ID known: statements of accounts not registered here are refused."""
    from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
    from reconciliation.use_cases.register_account import register_account
    from shared.db import build_engine

    settings = Settings()
    engine = build_engine(settings.require_database_url(), pool_size=1)
    principal = _shell_principal()
    try:
        with ReconciliationUnitOfWork(engine, topic_prefix=settings.topic_prefix) as uow:
            register_account(uow, account_id=account_id, provider=provider, registered_by=principal)
            uow.commit()
    finally:
        engine.dispose()
    click.echo(f"account {account_id} known, holding {provider}'s money")


@statements.command("funding")
@click.argument("reference")
@click.argument("amount", type=click.IntRange(min=0))
def add_funding(reference: str, amount: int) -> None:
    """Record a float funding we ordered (REFERENCE, AMOUNT in whole XOF) so its statement line matches."""
    from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
    from reconciliation.use_cases.register_account import register_funding
    from shared.db import build_engine

    settings = Settings()
    engine = build_engine(settings.require_database_url(), pool_size=1)
    principal = _shell_principal()
    try:
        with ReconciliationUnitOfWork(engine, topic_prefix=settings.topic_prefix) as uow:
            register_funding(uow, reference=reference, amount=amount, registered_by=principal)
            uow.commit()
    finally:
        engine.dispose()
    click.echo(f"funding {reference} of {amount} XOF recorded")


@click.group()
def redemptions() -> None:
    """Vendors' voucher redemption reports: import them to match what vendors say they redeemed."""


@redemptions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default="http://127.0.0.1:8003", show_default=True, help="the reconciliation API")
@click.option("--token", help="an operator's bearer token (default: $FILET_TOKEN, then the dev token)")
def import_redemption_report(file: Path, url: str, token: str | None) -> None:
    """Import a vendor's redemption report FILE (CSV): its rows matched against the redemptions payments
    recorded, its unreadable rows listed with their reasons; a malformed file is refused whole."""
    item = _post_file(url, "/v1/redemption-reports", file, _token(token)).json()
    vendors = ", ".join(item["vendors"]) or "no vendor"
    click.echo(f"redemption report {item['report_id']} of {vendors}: {item['lines']} lines")
    for outcome, count in item["outcomes"].items():
        click.echo(f"  {outcome:<20} {count:>8}")
    for row in item["rejected"]:
        click.echo(f"  row {row['row']} rejected: {row['reason']}")
    click.echo(f"  new discrepancies    {item['discrepancies_found']:>8}")


@click.group()
def audit() -> None:
    """The hash-chained audit trail kept by the reconciliation service."""


@audit.command("verify")
def verify() -> None:
    """Recompute the whole chain; exit 1 and say where if an entry was edited, inserted or deleted."""
    from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
    from reconciliation.use_cases.chain_audit import verify_audit_chain
    from shared.db import build_engine

    settings = Settings()
    engine = build_engine(settings.require_database_url(), pool_size=1)
    try:
        with ReconciliationUnitOfWork(engine, topic_prefix=settings.topic_prefix) as uow:
            verdict = verify_audit_chain(uow)
    finally:
        engine.dispose()
    if verdict.intact:
        click.echo(f"audit chain intact: {verdict.checked} entries")
        return
    raise click.ClickException(f"audit chain broken after {verdict.checked} good entries: {verdict.detail}")
