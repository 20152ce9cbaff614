"""Invalid requests: auth is answered first, and the 422 names the field without echoing what cannot be encoded.

FastAPI parses and validates a body before a route's dependencies run, so
without this a caller with no token would learn that its JSON was malformed
(422) instead of being told to authenticate (401). And FastAPI's 422 echoes the
offending input: a lone surrogate in it (valid JSON, ``"\\udcff"``) cannot be
encoded as UTF-8, which turned a bad request into a 500 with the text in the
error log.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from doppel.service.auth import Access, authorize


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    refused = _auth_refusal(request)
    if refused is not None:
        return refused
    errors = _encodable(jsonable_encoder(exc.errors()))
    if request.url.path.startswith("/v1/"):
        from doppel.service.routes.openai_compat import openai_error

        first = errors[0] if errors else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return openai_error(422, f"{param}: {first.get('msg', 'invalid request')}", "invalid_request_error", param)
    return JSONResponse({"detail": errors}, 422)


def _auth_refusal(request: Request) -> JSONResponse | None:
    """The 401 or 403 the route's own auth dependency would have given, if any."""
    from doppel.service.state import ADMIN, READ

    route = request.scope.get("route")
    state = getattr(request.app.state, "doppel", None)
    if route is None or state is None:
        return None
    wanted = {d.dependency for d in getattr(route, "dependencies", [])}
    if ADMIN.dependency in wanted:
        needed = Access.ADMIN
    elif READ.dependency in wanted:
        needed = Access.READ
    else:
        return None
    try:
        authorize(request, state.settings.service, state.host, needed)
    except HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    return None


def _encodable(value):
    """The value with every string made encodable as UTF-8 (lone surrogates become '?')."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    return value
