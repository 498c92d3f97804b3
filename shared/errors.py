"""One error hierarchy, mapped once to problem+json (RFC 9457).

Each error has a stable `type` (a URN naming the problem) so that clients can branch on it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_type(slug: str) -> str:
    return f"urn:casebridge:problem:{slug}"


class Problem(Exception):
    """An error a caller can act on. Subclasses fix the status; `slug` names the problem."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, slug: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if slug:
            self.slug = slug
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": problem_type(self.slug),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(Problem):
    pass


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Not authenticated"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Not permitted"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class Unprocessable(Problem):
    status, slug, title = 422, "validation-error", "Invalid input"


class Unavailable(Problem):
    """A dependency we must consult is unreachable, so we refuse rather than guess."""

    status, slug, title = 503, "unavailable", "Service unavailable"


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "code": e["type"]}
        for e in exc.errors()
    ]


_STATUS_SLUGS = {
    404: (NotFound, "not-found"),
    405: (BadRequest, "method-not-allowed"),
    401: (Unauthorized, "unauthorized"),
    403: (Forbidden, "forbidden"),
}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problem = Unprocessable("The request has invalid fields.", errors=_field_errors(exc))
        return problem_response(problem, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cls, slug = _STATUS_SLUGS.get(exc.status_code, (BadRequest, "http-error"))
        problem = cls(str(exc.detail), slug=slug)
        problem.status = exc.status_code
        return problem_response(problem, request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = Problem("An unexpected error occurred; nothing was changed.", slug="internal")
        problem.status, problem.title = 500, "Internal error"
        return problem_response(problem, request.url.path)
