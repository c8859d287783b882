"""One table maps domain errors to HTTP statuses; every refusal is JSON `{"error": {code, message, details}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, PayloadTooLarge

log = logging.getLogger(__name__)

STATUS_OF: dict[type[DomainError], int] = {
    PayloadTooLarge: 413,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    Forbidden: 403,
    DomainError: 422,
}

_CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}


class ApiError(Exception):
    """An error raised at the edge itself (authentication, headers, body size)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "details": details}},
        headers=headers,
    )


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 422


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, error: DomainError) -> JSONResponse:
        return error_response(status_of(error), error.code, error.message, error.details)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(part) for part in item.get("loc", ())), "reason": item.get("msg")}
            for item in error.errors()
        ]
        return error_response(422, "invalid_input", "the request does not match its schema", details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _CODE_OF_STATUS.get(error.status_code, "error")
        return error_response(error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error while serving a request")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
