"""The web page: `/` and its static files under `/web/`, all shipped in the package (no CDN, no build step).

The page and its assets need no token (they hold no data); every data call the
page makes goes to the same `/api` and `/v1` endpoints scripts use, with the
bearer token the user signed in with.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

ASSETS = resources.files("doppel.service") / "web"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}
# Only our own origin: no inline script or style, nothing from elsewhere.
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# The viewer tab shows a version's self-contained HTML report as a blob URL, which keeps this policy:
# the report's own inline styles apply, its scripts (and anything from elsewhere) stay off.
VIEWER_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _asset(name: str) -> Response:
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in TYPES:
        raise HTTPException(404, f"no such file: {name}")
    path = ASSETS / name
    if not path.is_file():
        raise HTTPException(404, f"no such file: {name}")
    policy = VIEWER_CSP if name == "view.html" else CSP
    return Response(path.read_bytes(), media_type=TYPES[suffix], headers={**HEADERS, "Content-Security-Policy": policy})


@router.get("/")
def index() -> Response:
    """The single page (Chat, Training, Versions, Review, Health)."""
    return _asset("index.html")


@router.get("/web/{name}")
def asset(name: str) -> Response:
    return _asset(name)
