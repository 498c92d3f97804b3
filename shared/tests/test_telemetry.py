"""Server spans are named by route template, never by the raw path (which holds ids)."""

from fastapi import APIRouter, FastAPI

from shared.telemetry import route_span_details


def _app() -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/consents")

    @router.post("/{consent_id}/withdraw")
    def withdraw(consent_id: str) -> dict[str, str]:
        return {"id": consent_id}

    app.include_router(router)
    return app


def _scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


def test_a_span_is_named_by_the_route_template_not_the_path() -> None:
    details = route_span_details(_app())
    name, attributes = details(_scope("POST", "/consents/c-123/withdraw"))
    assert name == "POST /consents/{consent_id}/withdraw"
    assert attributes == {"http.route": "/consents/{consent_id}/withdraw"}


def test_an_unknown_path_or_method_names_the_method_only() -> None:
    details = route_span_details(_app())
    assert details(_scope("GET", "/nowhere/c-123")) == ("GET", {})
    assert details(_scope("GET", "/consents/c-123/withdraw")) == ("GET", {})
