"""The web page's files as the router serves them (no browser, no database): types, policy, nothing external."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from doppel.service.routes import web

# The page's script is native ES modules (no build step): app.js and the modules it imports;
# view.js is the viewer tab's.
MODULES = sorted(f.name for f in web.ASSETS.iterdir() if f.name.endswith(".js"))


def make_client() -> TestClient:
    app = FastAPI()
    app.include_router(web.router)
    return TestClient(app)


def test_the_page_and_its_files_are_served_with_their_types_and_a_strict_policy():
    c = make_client()
    index = c.get("/")
    assert index.status_code == 200 and index.headers["content-type"] == "text/html; charset=utf-8"
    policy = index.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'") and "unsafe" not in policy
    assert index.headers["x-content-type-options"] == "nosniff"
    assert {"app.js", "api.js", "charts.js", "chat.js", "view.js"} <= set(MODULES), MODULES
    files = [("app.css", "text/css"), ("favicon.svg", "image/svg+xml"), ("view.html", "text/html")]
    for name, kind in files + [(module, "text/javascript") for module in MODULES]:
        r = c.get(f"/web/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind), name
    # The report viewer lets a report's own inline styles apply, never scripts.
    viewer = c.get("/web/view.html").headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-inline'" in viewer and "script-src" not in viewer and "unsafe-eval" not in viewer


def test_only_the_shipped_files_are_served():
    c = make_client()
    for path in ("/web/nope.js", "/web/..%2Fapp.py", "/web/.hidden.js", "/web/app.py", "/web/index"):
        assert c.get(path).status_code == 404, path


def test_nothing_comes_from_elsewhere_and_every_reference_resolves():
    c = make_client()
    html = c.get("/").text
    for name in ("index.html", "view.html", "app.css", *MODULES):
        text = c.get(f"/web/{name}").text
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), name
        assert not re.search(r"""url\(\s*["']?(https?:)?//""", text), name
        assert "<script>" not in text and " style=" not in text and "onclick" not in text, name
    for ref in re.findall(r"""(?:src|href)="(/web/[^"]+)\"""", html):
        assert c.get(ref).status_code == 200, ref
    # Both pages load their script as a module, and every module imports only its neighbours, which are served.
    assert '<script type="module" src="/web/app.js">' in html
    assert '<script type="module" src="/web/view.js">' in c.get("/web/view.html").text
    for name in MODULES:
        for ref in re.findall(r"""^import\b[^'"]*['"]([^'"]+)['"]""", c.get(f"/web/{name}").text, re.M):
            assert re.fullmatch(r"\./[a-z]+\.js", ref) and c.get(f"/web/{ref[2:]}").status_code == 200, (name, ref)
    # Every element the main page's modules look up by id is in the page.
    ids = set(re.findall(r'id="([^"]+)"', html))
    text = "".join(c.get(f"/web/{name}").text for name in MODULES if name != "view.js")
    wanted = set(re.findall(r"""\$\(['`]#([A-Za-z0-9_-]+)['`]\)""", text))
    assert wanted and wanted <= ids, sorted(wanted - ids)


def test_every_control_in_the_page_has_a_label():
    html = make_client().get("/").text
    labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
    for tag in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
        attrs = tag.group(2)
        ident = re.search(r'id="([^"]+)"', attrs)
        assert "aria-label=" in attrs or (ident and ident.group(1) in labelled), tag.group(0)
