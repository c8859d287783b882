"""The `filet` command: `up`, `demo`, `migrate`, `tokens`, `deadletters`."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import click

from shared.settings import Settings


@click.group()
def main() -> None:
    """filet: pays social safety-net programmes through mobile money, and reconciles every franc."""


@main.command()
@click.option("--pg-port", default=55432, show_default=True, help="port of the embedded PostgreSQL")
@click.option("--broker-port", default=19092, show_default=True, help="port of the embedded broker")
@click.option(
    "--port-base", default=8000, show_default=True, help="services on base+1, +2, +3, simulator on +9"
)
def up(pg_port: int, broker_port: int, port_base: int) -> None:
    """Start the embedded default (or use DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS) and every service."""
    from filet.embedded import EmbeddedError
    from filet.processes import kill_tree_on_exit
    from filet.stack import Stack

    settings = Settings()
    ports = {"enrolment": port_base + 1, "payments": port_base + 2, "reconciliation": port_base + 3}
    stack = Stack(
        settings,
        settings.data_dir,
        ports={**ports, "simulator": port_base + 9},
        pg_port=pg_port,
        broker_port=broker_port,
    )
    kill_tree_on_exit()
    try:
        click.echo("starting filet …")
        stack.start()
        _print_stack(stack)
        click.echo("\nrunning; Ctrl-C stops everything.")
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("\nstopping …")
    except EmbeddedError as error:
        click.echo(f"filet up failed: {error}", err=True)
        sys.exit(1)
    finally:
        stack.stop()
        click.echo("stopped.")


def _print_stack(stack: object) -> None:
    from filet.stack import Stack

    assert isinstance(stack, Stack)
    click.echo("\nservices:")
    for name in ("enrolment", "payments", "reconciliation", "simulator"):
        click.echo(f"  {name:<15} {stack.url(name)}   (OpenAPI: {stack.url(name)}/docs)")
    click.echo(f"\ndatabase:  {stack.database_url}" + ("  (embedded)" if stack.postgres else ""))
    click.echo(f"broker:    {stack.bootstrap}" + ("  (embedded, log in memory)" if stack.broker else ""))
    click.echo(f"data:      {stack.data_dir}  (PostgreSQL data, logs/, dev-tokens.json)")
    click.echo("\ndev tokens (Authorization: Bearer <token>):")
    for name, token in stack.tokens.items():
        click.echo(f"  {name:<11} {token}")


@main.command()
def migrate() -> None:
    """Bring every schema (identity, enrolment, payments, reconciliation) to its newest revision."""
    from filet.stack import migrate_all
    from shared.db import build_engine

    engine = build_engine(Settings().require_database_url(), pool_size=1)
    migrate_all(engine)
    click.echo("migrated: identity, enrolment, payments, reconciliation")


@main.command()
def topics() -> None:
    """Create every topic with the configured partition count (and the broker-epoch topic)."""
    from shared.events.catalogue import all_topic_names
    from shared.kafka import ensure_topics

    settings = Settings()
    names = all_topic_names(settings.topic_prefix)
    ensure_topics(
        settings.require_kafka(), names, partitions=settings.topic_partitions, prefix=settings.topic_prefix
    )
    click.echo("topics: " + ", ".join(names))


@main.command()
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("asyncapi.json"), show_default=True
)
def asyncapi(out: Path) -> None:
    """Write the AsyncAPI document of every topic and event type (generated from the catalogue)."""
    import json

    from filet.asyncapi import document

    out.write_text(json.dumps(document(), indent=2, ensure_ascii=False) + "\n")
    click.echo(f"wrote {out}")


@main.group()
def tokens() -> None:
    """Bearer tokens (stored hashed)."""


@tokens.command("create")
@click.option(
    "--role", required=True, help="operator, approver, auditor, admin, provider:<name> or vendor:<id>"
)
@click.option("--name", required=True, help="who holds the token (a person, a provider, a vendor)")
def tokens_create(role: str, name: str) -> None:
    """Mint a token; it is printed once and only its hash is stored."""
    from shared.auth import InvalidRole, TokenStore
    from shared.db import build_engine

    engine = build_engine(Settings().require_database_url(), pool_size=1)
    try:
        click.echo(TokenStore(engine).create(name=name, role=role))
    except InvalidRole as error:
        raise click.BadParameter(str(error), param_hint="--role") from error


@main.group()
def deadletters() -> None:
    """Events a consumer parked because they could never succeed."""


SERVICES = click.Choice(["enrolment", "payments", "reconciliation"])


@deadletters.command("list")
@click.option("--service", type=SERVICES, required=True)
def deadletters_list(service: str) -> None:
    """List parked events with their reason."""
    from sqlalchemy import text

    from shared.db import build_engine

    engine = build_engine(Settings().require_database_url(), pool_size=1)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f'SELECT id, event_type, topic, "offset", reason, parked_at, replayed_at '
                f'FROM "{service}".dead_letter ORDER BY id'
            )
        ).all()
    if not rows:
        click.echo("no parked events")
    for row in rows:
        state = f"replayed {row.replayed_at:%Y-%m-%d %H:%M}" if row.replayed_at else "parked"
        click.echo(
            f"{row.id:>6}  {row.event_type or '?':<32} {row.topic}@{row.offset}  {state}  {row.reason}"
        )


@deadletters.command("replay")
@click.option("--service", type=SERVICES, required=True)
@click.option("--id", "ids", type=int, multiple=True, help="replay these ids only (default: all parked)")
def deadletters_replay(service: str, ids: tuple[int, ...]) -> None:
    """Apply parked events again (after the cause was fixed); each is applied at most once."""
    from filet.consumers import inbox_for
    from shared.db import build_engine

    settings = Settings()
    engine = build_engine(settings.require_database_url(), pool_size=1)
    outcomes = inbox_for(service, engine, settings).replay(list(ids) or None)
    if not outcomes:
        click.echo("nothing to replay")
    for dead_letter_id, outcome in outcomes:
        click.echo(f"{dead_letter_id:>6}  {outcome}")
    if any(outcome != "applied" for _, outcome in outcomes):
        sys.exit(1)


@main.command()
@click.option("--households", default=10_000, show_default=True, help="households in the generated RSU file")
def demo(households: int) -> None:
    """Bring the system up, register households, and watch them reach payments and reconciliation."""
    from filet.demo import run_demo

    sys.exit(run_demo(households=households, data_dir=Path(Settings().data_dir)))


def _register_service_commands() -> None:
    from filet.enrolment_commands import households
    from filet.reconciliation_commands import audit, redemptions, statements

    main.add_command(households)
    main.add_command(statements)
    main.add_command(redemptions)
    main.add_command(audit)


_register_service_commands()


if __name__ == "__main__":
    main()
