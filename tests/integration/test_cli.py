"""The `filet` commands that operators run by hand: tokens and dead letters."""

from __future__ import annotations

import uuid

from bus import audit_event
from click.testing import CliRunner
from sqlalchemy import Engine, text

from filet.cli import main
from payments.db.unit_of_work import PaymentsUnitOfWork
from shared.auth import TokenStore
from shared.events import encode, new_envelope
from shared.events.contracts import HouseholdRegistered
from shared.settings import Settings


def test_tokens_create_prints_a_token_that_authenticates_with_its_role(
    db: Engine, settings: Settings
) -> None:
    result = CliRunner().invoke(
        main, ["tokens", "create", "--role", "approver", "--name", "Awa Diarra"], env=_env(settings)
    )

    assert result.exit_code == 0, result.output
    principal = TokenStore(db).lookup(result.output.strip())
    assert principal is not None
    assert (principal.name, principal.role) == ("Awa Diarra", "approver")


def test_tokens_create_refuses_an_unknown_role(db: Engine, settings: Settings) -> None:
    result = CliRunner().invoke(
        main, ["tokens", "create", "--role", "boss", "--name", "x"], env=_env(settings)
    )

    assert result.exit_code == 2
    assert "invalid role 'boss'" in result.output


def _park(db: Engine, settings: Settings, payload: bytes, event_id: uuid.UUID, reason: str) -> None:
    with db.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO payments.dead_letter (consumer, event_id, event_type, topic, partition, "offset", '
                "payload, reason) VALUES (:c, :e, 'household.registered', 't', 0, 3, :p, :r)"
            ),
            {"c": f"{settings.topic_prefix}.payments", "e": event_id, "p": payload, "r": reason},
        )


def test_deadletters_replay_applies_a_parked_event_once_its_cause_is_gone(
    db: Engine, settings: Settings
) -> None:
    household = HouseholdRegistered(
        household_id=uuid.uuid4(),
        rsu_id="RSU-MO-000900",
        head_name="Boubacar Cissé",
        size=4,
        region="Mopti",
        cercle="Djenné",
        commune="Djenné",
    )
    envelope = new_envelope(source="/filet/enrolment", data=household, subject=str(household.household_id))
    _park(db, settings, encode(envelope), envelope.id, "OperationalError: the database was down")
    env = _env(settings)

    listed = CliRunner().invoke(main, ["deadletters", "list", "--service", "payments"], env=env)
    replayed = CliRunner().invoke(main, ["deadletters", "replay", "--service", "payments"], env=env)
    again = CliRunner().invoke(main, ["deadletters", "replay", "--service", "payments"], env=env)

    assert "household.registered" in listed.output
    assert "the database was down" in listed.output
    assert replayed.exit_code == 0
    assert "applied" in replayed.output
    assert again.output.strip() == "nothing to replay"
    with PaymentsUnitOfWork(db, topic_prefix=settings.topic_prefix) as uow:
        assert uow.beneficiaries.get(household.household_id) is not None


def test_deadletters_replay_reports_an_event_that_still_fails(db: Engine, settings: Settings) -> None:
    envelope = new_envelope(source="/filet/enrolment", data=audit_event("x"), subject="x")
    wrong_shape = encode(envelope).replace(b'"audit.recorded"', b'"household.registered"')
    _park(db, settings, wrong_shape, envelope.id, "invalid data")

    replayed = CliRunner().invoke(
        main, ["deadletters", "replay", "--service", "payments"], env=_env(settings)
    )

    assert replayed.exit_code == 1
    assert "still failing" in replayed.output


def _env(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.require_database_url(),
        "KAFKA_BOOTSTRAP_SERVERS": settings.require_kafka(),
        "FILET_TOPIC_PREFIX": settings.topic_prefix,
    }
