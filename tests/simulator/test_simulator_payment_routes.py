"""The per-payment routes served ahead of FastAPI: the same answers as the FastAPI app gives, for less CPU.

Each exchange below runs twice, on two simulators made from the same seeded config: once through the app
`create_app` makes (the per-payment routes answered by `PaymentRoutes`), once through its FastAPI app alone.
Everything a client sees must be equal, instants aside.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.responses import Response
from starlette.testclient import TestClient

from simulator import BackgroundServer, SimulatorConfig, create_app
from simulator.dialects.gsma import GsmaDesk
from simulator.dialects.mtn import MtnDesk
from simulator.dialects.wave import WaveDesk
from simulator.payment_routes import PaymentRoute, PaymentRoutes, payment_routes
from simulator.simulation import Simulation

TRANSFER = "/mtn/disbursement/v1_0/transfer"
PAYOUT = "/wave/v1/payout"
DISBURSEMENT = "/gsma/transactions/type/disbursement"
UNUSED = str(uuid.UUID(int=999, version=4))

Exchanges = Callable[[TestClient], list[httpx.Response]]
Seen = tuple[int, list[tuple[str, str]], bytes]


# --- what the clients do ---------------------------------------------------------------------------------


def mtn_exchanges(client: TestClient) -> list[httpx.Response]:
    basic = base64.b64encode(b"api-user:api-key").decode()
    token = _first_ok(
        lambda: client.post(
            "/mtn/disbursement/token/",
            headers={"Authorization": f"Basic {basic}", "Ocp-Apim-Subscription-Key": "key"},
        ),
        "access_token",
    )
    auth = {
        "Authorization": f"Bearer {token}",
        "Ocp-Apim-Subscription-Key": "key",
        "X-Target-Environment": "mtnmali",
    }
    answers = [client.post("/mtn/disbursement/token/", headers={"Ocp-Apim-Subscription-Key": "key"})]
    for n in range(12):
        reference = str(uuid.UUID(int=n + 1, version=4))
        with_reference = auth | {"X-Reference-Id": reference}
        answers.append(client.post(TRANSFER, headers=with_reference, json=_mtn_transfer(f"EXT-{n}")))
        answers.append(client.get(f"{TRANSFER}/{reference}", headers=auth))
    first = str(uuid.UUID(int=1, version=4))
    unused = auth | {"X-Reference-Id": UNUSED}
    return [
        *answers,
        client.post(TRANSFER, headers=auth | {"X-Reference-Id": first}, json=_mtn_transfer("EXT-0")),
        client.post(TRANSFER, headers=unused, content=b"{not json"),
        client.post(TRANSFER, headers=unused, content=b"[]"),
        client.post(TRANSFER, headers=unused, json={"amount": "0"}),
        client.post(TRANSFER, headers=unused, json=_mtn_transfer("EXT-x") | {"currency": "EUR"}),
        client.post(TRANSFER, headers=auth | {"X-Reference-Id": "not-a-uuid"}, json=_mtn_transfer("EXT-y")),
        client.post(TRANSFER, headers=auth, json=_mtn_transfer("EXT-z")),
        client.post(TRANSFER, json=_mtn_transfer("EXT-z")),
        client.get(f"{TRANSFER}/{UNUSED}", headers=auth),
        client.get(f"{TRANSFER}/{first}"),
        client.get(f"{TRANSFER}/{first}", headers=auth | {"Authorization": "Bearer stale"}),
        client.get(f"{TRANSFER}/{first}", headers=auth | {"X-Target-Environment": ""}),
        client.put(TRANSFER, headers=unused, json=_mtn_transfer("EXT-put")),
        client.get(TRANSFER, headers=auth),
        client.delete(f"{TRANSFER}/{first}", headers=auth),
        client.head(f"{TRANSFER}/{first}", headers=auth),
        client.post(f"{TRANSFER}/", headers=unused, json=_mtn_transfer("EXT-slash")),
        client.get(f"{TRANSFER}/{first}/", headers=auth),
        client.get(f"{TRANSFER}/{first}/more", headers=auth),
    ]


def wave_exchanges(client: TestClient) -> list[httpx.Response]:
    auth = {"Authorization": "Bearer wave-key"}
    answers = []
    for n in range(12):
        created = client.post(PAYOUT, headers=auth | {"idempotency-key": f"key-{n}"}, json=_payout(f"P-{n}"))
        answers += [created, client.get(f"{PAYOUT}/{_field(created, 'id')}", headers=auth)]
    return [
        *answers,
        client.post(PAYOUT, headers=auth | {"idempotency-key": "key-0"}, json=_payout("P-0")),
        client.post(PAYOUT, headers=auth | {"idempotency-key": "key-0"}, json=_payout("P-other")),
        client.post(PAYOUT, headers=auth, json=_payout("P-without-key")),
        client.post(PAYOUT, headers=auth, content=b"{"),
        client.post(PAYOUT, headers=auth, json=_payout("P-bad") | {"mobile": "123"}),
        client.post(PAYOUT, headers=auth, json=_payout("P-eur") | {"currency": "EUR"}),
        client.post(PAYOUT, json=_payout("P-anonymous")),
        client.post(PAYOUT, headers={"Authorization": "Basic abc"}, json=_payout("P-basic")),
        client.get(f"{PAYOUT}/pt-unknown", headers=auth),
        client.get(f"{PAYOUT}/pt-unknown"),
        client.put(PAYOUT, headers=auth, json=_payout("P-put")),
        client.get(PAYOUT, headers=auth),
        client.delete(f"{PAYOUT}/pt-unknown", headers=auth),
        client.post(f"{PAYOUT}/pt-unknown/reverse", headers=auth),
    ]


def gsma_exchanges(client: TestClient) -> list[httpx.Response]:
    answers = []
    for n in range(12):
        correlation_id = str(uuid.UUID(int=n + 100, version=4))
        created = client.post(
            DISBURSEMENT, headers={"X-CorrelationID": correlation_id}, json=_transaction(f"P-{n}")
        )
        answers += [
            created,
            client.get(f"/gsma/requeststates/{_field(created, 'serverCorrelationId')}"),
            client.get(f"/gsma/responses/{correlation_id}"),
            client.get(f"/gsma/transactions/{_field(created, 'objectReference')}"),
        ]
    first = {"X-CorrelationID": str(uuid.UUID(int=100, version=4))}
    unused = {"X-CorrelationID": UNUSED}
    return [
        *answers,
        client.post(DISBURSEMENT, headers=first, json=_transaction("P-0")),
        client.post(DISBURSEMENT, json=_transaction("P-uncorrelated")),
        client.post(DISBURSEMENT, headers=unused | {"X-Callback-URL": "ftp://x"}, json=_transaction("P-ftp")),
        client.post(DISBURSEMENT, headers=unused, content=b"nope"),
        client.post(DISBURSEMENT, headers=unused, json=_transaction("P-cents") | {"amount": "12.50"}),
        client.post(DISBURSEMENT, headers=unused, json=_transaction("P-eur") | {"currency": "EUR"}),
        client.post(DISBURSEMENT, headers=unused, json={"amount": "5"}),
        client.get("/gsma/requeststates/unknown"),
        client.get("/gsma/responses/unknown"),
        client.get("/gsma/transactions/unknown"),
        client.get("/gsma/transactions/type"),
        client.get(DISBURSEMENT),
        client.put("/gsma/transactions/unknown", json={}),
        client.get("/gsma/transactions"),
        client.get("/gsma/heartbeat"),
        client.get("/gsma/batchtransactions/unknown"),
        client.get("/_admin/health"),
        client.get("/nowhere"),
    ]


def _mtn_transfer(external_id: str) -> dict[str, Any]:
    return {
        "amount": "30000",
        "currency": "XOF",
        "externalId": external_id,
        "payee": {"partyIdType": "MSISDN", "partyId": "22377234511"},
        "payerMessage": "PFS 2025Q1",
    }


def _payout(reference: str) -> dict[str, Any]:
    return {
        "currency": "XOF",
        "receive_amount": "30000",
        "mobile": "+22378345621",
        "name": "Ibrahim Cisse",
        "client_reference": reference,
    }


def _transaction(reference: str) -> dict[str, Any]:
    return {
        "amount": "30000",
        "currency": "XOF",
        "creditParty": [{"key": "msisdn", "value": "+22376123401"}],
        "requestingOrganisationTransactionReference": reference,
    }


def _first_ok(ask: Callable[[], httpx.Response], field: str) -> str:
    """The field of the first readable answer (incidents may come first); "none" when the desk is down."""
    for _ in range(20):
        value = _field(ask(), field)
        if value != "none":
            return value
    return "none"


def _field(answer: httpx.Response, name: str) -> str:
    try:
        value = answer.json()[name]
    except (ValueError, KeyError, TypeError):
        return "none"
    return str(value)


# --- the comparison --------------------------------------------------------------------------------------

_INSTANT = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z")
_DATED = re.compile(rb"\b(GS|MP)\d{6}(?:\.\d{4})?")


def seen(answer: httpx.Response) -> Seen:
    """What a client sees, with the instants (and the references made of them) masked."""
    headers = [
        (name, "<instant>" if name == "x-date" else value) for name, value in answer.headers.multi_items()
    ]
    body = _DATED.sub(rb"\1<day>", _INSTANT.sub(b"<instant>", answer.content))
    return answer.status_code, headers, body


CONFIGS: dict[str, tuple[dict[str, Any], set[int]]] = {
    "plain": ({"all": {"processing_ms": 0, "failures": {"RECIPIENT_NOT_FOUND": 0.3}}}, {400, 404, 405}),
    "troubled": (
        {
            "all": {
                "processing_ms": 0,
                "failures": {"RECIPIENT_NOT_FOUND": 0.3},
                "incident_scope": "all",
                "latency": {"fixed_ms": 1},
                "server_errors": {"rate": 0.15, "executed_share": 0.5},
                "garbage": {"rate": 0.15, "executed_share": 0.5},
            }
        },
        {500},
    ),
    "down": ({"all": {"down": {"seconds": 600, "mode": "unavailable"}}}, {503}),
}


@pytest.mark.parametrize("exchanges", [mtn_exchanges, wave_exchanges, gsma_exchanges])
@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_the_payment_routes_answer_exactly_as_the_fastapi_app_does(
    exchanges: Exchanges, config_name: str
) -> None:
    behaviour, expected_statuses = CONFIGS[config_name]
    config = SimulatorConfig.model_validate({"seed": 11, "behaviour": behaviour})

    via_front = _run(create_app(config), exchanges)
    via_fastapi = _run(create_app(config).api, exchanges)

    assert [seen(answer) for answer in via_front] == [seen(answer) for answer in via_fastapi]
    assert expected_statuses <= {answer.status_code for answer in via_front}


def _run(app: Any, exchanges: Exchanges) -> list[httpx.Response]:
    with TestClient(app, follow_redirects=False) as client:
        return exchanges(client)


# --- the table -------------------------------------------------------------------------------------------


@pytest.fixture
def desks_only() -> Iterator[TestClient]:
    """The payment routes in front of an empty FastAPI app: whatever is answered, the front answered."""
    simulation = Simulation(SimulatorConfig())
    gsma = GsmaDesk(simulation)
    mtn = MtnDesk(simulation, simulation.config.mtn)
    wave = WaveDesk(simulation, simulation.config.wave)
    with TestClient(PaymentRoutes(FastAPI(), routes=payment_routes(gsma, mtn, wave))) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", TRANSFER, 401, "ACCESS_DENIED"),
        ("GET", f"{TRANSFER}/{UNUSED}", 401, "ACCESS_DENIED"),
        ("POST", PAYOUT, 401, "missing-auth-header"),
        ("GET", f"{PAYOUT}/pt-unknown", 401, "missing-auth-header"),
        ("POST", DISBURSEMENT, 400, "mandatoryValueNotSupplied"),
        ("GET", "/gsma/transactions/unknown", 404, "identifierError"),
        ("GET", "/gsma/requeststates/unknown", 404, "identifierError"),
        ("GET", "/gsma/responses/unknown", 404, "identifierError"),
    ],
)
def test_each_payment_route_is_answered_by_its_desk_without_fastapi(
    desks_only: TestClient, method: str, path: str, status: int, code: str
) -> None:
    answer = desks_only.request(method, path)

    assert answer.status_code == status
    assert code in (answer.json().get("code"), answer.json().get("errorCode"))


def test_other_methods_and_paths_go_on_to_the_fastapi_app(desks_only: TestClient) -> None:
    assert desks_only.put(TRANSFER).json() == {"detail": "Not Found"}
    assert desks_only.get(f"{PAYOUT}/pt-1/reverse").json() == {"detail": "Not Found"}
    assert desks_only.get("/mtn/disbursement/token/").status_code == 404


def test_every_payment_route_is_a_route_of_its_desk() -> None:
    app = create_app()
    documented = {
        (method.upper(), path)
        for path, operations in app.api.openapi()["paths"].items()
        for method in operations
    }
    simulation = Simulation(SimulatorConfig())
    table = payment_routes(
        GsmaDesk(simulation),
        MtnDesk(simulation, simulation.config.mtn),
        WaveDesk(simulation, simulation.config.wave),
    )

    assert {(route.method, route.path) for route in table} <= documented
    assert len(table) == 8


def test_a_wrong_method_on_a_payment_path_is_fastapis_405() -> None:
    with TestClient(create_app()) as client:
        answer = client.delete(TRANSFER)

    assert answer.status_code == 405
    assert answer.json() == {"detail": "Method Not Allowed"}
    assert answer.headers["allow"] == "POST"


def test_a_handler_taking_more_than_the_request_and_the_path_is_refused() -> None:
    async def handler(request: Any, reference_id: str, limit: int) -> Response:
        return Response()

    with pytest.raises(TypeError, match="only `request` and the path's parameters"):
        PaymentRoute("GET", "/things/{reference_id}", handler)


# --- a handler that raises -------------------------------------------------------------------------------


async def _broken(key: str) -> Response:
    raise RuntimeError(f"broken {key}")


def _broken_front() -> PaymentRoutes:
    return PaymentRoutes(FastAPI(), routes=[PaymentRoute("GET", "/broken/{key}", _broken)])


def test_a_handler_that_raises_is_answered_500_in_plain_text_as_fastapi_answers_it() -> None:
    fastapi_app = FastAPI()
    fastapi_app.add_api_route("/broken/{key}", _broken, methods=["GET"])
    with (
        TestClient(_broken_front(), raise_server_exceptions=False) as front,
        TestClient(fastapi_app, raise_server_exceptions=False) as reference,
    ):
        answer = front.get("/broken/1")
        expected = reference.get("/broken/1")

    assert seen(answer) == seen(expected)
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"


def test_a_handler_that_raises_hands_the_exception_on_to_the_server() -> None:
    with TestClient(_broken_front()) as client, pytest.raises(RuntimeError, match="broken 2"):
        client.get("/broken/2")


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_over_http_a_handler_that_raises_is_logged_and_the_server_keeps_serving() -> None:
    server = BackgroundServer(_broken_front())  # configures uvicorn's loggers
    kept = _Kept()
    logging.getLogger("uvicorn.error").addHandler(kept)
    try:
        with server:  # a connection that saw an exception is closed by uvicorn: one connection each
            first = httpx.get(f"{server.base_url}/broken/3", trust_env=False)
            second = httpx.get(f"{server.base_url}/broken/4", trust_env=False)
    finally:
        logging.getLogger("uvicorn.error").removeHandler(kept)

    assert (first.status_code, first.text) == (500, "Internal Server Error")
    assert (second.status_code, second.text) == (500, "Internal Server Error")
    logged = [str(record.exc_info[1]) for record in kept.records if record.exc_info]
    assert logged == ["broken 3", "broken 4"]
