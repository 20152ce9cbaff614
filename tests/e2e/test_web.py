"""The web page, end to end: real headless Chromium against a real `doppel serve` on the demo twin.

The server is a `doppel serve` process (API, worker, PostgreSQL) with tokens, so the page has to
sign in; the twin is the demo persona on a tiny 2-layer Llama, trained to v1.0 before the browser
starts, so chat answers at once and a run started from the page ends in seconds. Playwright drives
Debian's `chromium` (it never downloads a browser). Screenshots of every page, at desktop and at
phone width, go to test-artifacts/web/.

Chromium missing fails these tests with the reason; DOPPEL_SKIP_BROWSER=1 skips them instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REPO
from tests.integration.service import Server

ADMIN = "web-admin-token-0123456789abcdef"
ARTIFACTS = REPO / "test-artifacts" / "web"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PAGES = ["chat", "training", "versions", "review", "import", "privacy", "health"]
TWIN = "allan-maverick"

pytestmark = pytest.mark.timeout(300)


def chromium_executable() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    if os.environ.get("DOPPEL_SKIP_BROWSER") == "1":
        pytest.skip("DOPPEL_SKIP_BROWSER=1: the web page's browser tests are switched off")
    path = chromium_executable()
    if path is None:
        pytest.fail(
            "Chromium is not installed: the web page's end-to-end tests drive Debian's `chromium` "
            "(apt-get install chromium; .ci/run installs it). Set DOPPEL_SKIP_BROWSER=1 to skip them.",
            pytrace=False,
        )
    return path


@dataclass
class Site:
    server: Server
    base: str
    home: Path

    def api(self, method: str, path: str, **kwargs):
        return self.server.client.request(method, path, headers={"Authorization": f"Bearer {ADMIN}"}, **kwargs)


SCENARIOS = """\
scenarios:
  - id: discount-30
    context:
      client: Brightwell Beverages
      deal_amount: 48000
      question: "They ask for 30% off. What do you do?"
    options: [Accept, Counter-offer, Decline]
    choice: Counter-offer
  - id: free-pilot
    context: A retail prospect wants a free three-month pilot before signing.
    options: [Give the pilot for free, Offer a paid pilot credited to the contract]
    choice: Offer a paid pilot credited to the contract
"""


def write_config(path: Path, home: Path, database_url: str, model_dir: Path) -> Path:
    scenarios = path.with_name("scenarios.yaml")
    scenarios.write_text(SCENARIOS)
    path.write_text(
        f'home = "{home}"\ndatabase_url = "{database_url}"\nlog_level = "info"\n\n'
        f'[service]\nadmin_tokens = ["{ADMIN}"]\nheartbeat_seconds = 0.5\nstale_after_seconds = 6\n\n'
        "[schedule]\nenabled = false\n\n"
        f'[[twins]]\nname = "{TWIN}"\n[twins.base_model]\nname = "{model_dir}"\n'
        # Runs started from the page: long enough to watch the curve move, short enough for a test.
        "[twins.training]\nmax_steps = 16\nmax_length = 128\neval_batches = 2\nlearning_rate = 0.02\n"
        "checkpoint_steps = 1000\n[twins.promotion]\ntolerance = 10.0\n"
        "[twins.inference]\nmax_new_tokens = 40\n"
        # A small scorecard: a handful of held-out pairs to review.
        f'[twins.evaluation]\nstyle_examples = 4\nother_texts = 40\nmax_new_tokens = 12\nscenarios = ["{scenarios}"]\n'
        "deal_scenarios = false\n"
    )
    return path


@pytest.fixture(scope="module")
def site(chromium, pg_server, tmp_path_factory, tiny_model_dir, base_models_cache):
    from doppel.config import load_settings
    from doppel.demo.load import load_demo
    from doppel.demo.persona import generate
    from doppel.pipeline import train_twin

    folder = tmp_path_factory.mktemp("web")
    home = folder / "home"
    home.mkdir()
    (home / "base_models").symlink_to(base_models_cache, target_is_directory=True)
    name = f"web_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.get_uri(name)
    with psycopg.connect(url) as conn:
        load_demo(conn, generate(seed=7, scale=0.2))
    config = write_config(folder / "doppel.toml", home, url, tiny_model_dir)
    train_twin(load_settings(config), TWIN, overrides={"max_steps": 4})  # v1.0, final: chat answers at once
    server = Server(config, folder / "serve.log").wait_ready()
    yield Site(server, server.base, home)
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


class Watch:
    """What a page did that it should not: script errors, CSP violations, requests to other origins."""

    def __init__(self, base: str):
        self.base = base
        self.errors: list[str] = []
        self.foreign: list[str] = []

    def attach(self, context) -> None:
        def route(r):
            url = r.request.url
            if url.startswith(self.base) or url.startswith(("blob:", "data:")):
                r.continue_()
            else:
                self.foreign.append(url)
                r.abort()

        context.route("**/*", route)

    def page(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

        def console(msg):
            text = msg.text
            if msg.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
                self.errors.append(f"console: {text}")
            if msg.type == "error" and "Uncaught" in text:
                self.errors.append(f"console: {text}")

        page.on("console", console)

    def check(self) -> None:
        assert not self.foreign, f"the page asked other origins: {self.foreign}"
        assert not self.errors, self.errors


@pytest.fixture
def open_page(browser, site):
    """A new tab (own session storage) at a viewport; signed in unless told not to."""
    contexts, watches = [], []

    def _open(hash_: str = "#/chat", viewport=DESKTOP, sign_in: bool = True):
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        watch = Watch(site.base)
        watch.attach(context)
        contexts.append(context)
        watches.append(watch)
        page = context.new_page()
        watch.page(page)
        page.set_default_timeout(30_000)
        page.goto(f"{site.base}/{hash_}")
        if sign_in:
            page.wait_for_selector("#signin:not([hidden])")
            page.fill("#signin-token", ADMIN)
            page.click("#signin button[type=submit]")
            page.wait_for_selector("#signin", state="hidden")
        page.wait_for_selector("body[data-ready=true]", state="attached")
        return page

    yield _open
    for context in contexts:
        context.close()
    for watch in watches:
        watch.check()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def go(page, name: str) -> None:
    """Open one of the pages and wait until its data is on screen."""
    page.evaluate("name => { location.hash = '#/' + name }", name)
    page.wait_for_selector(f"#page-{name}[data-loaded]:not([hidden])")


# -- the tests ------------------------------------------------------------------------------------


def test_doppel_serve_serves_the_page_without_a_token_but_not_the_data(site):
    client = site.server.client
    index = client.get("/")
    assert index.status_code == 200 and "default-src 'self'" in index.headers["content-security-policy"]
    assert client.get("/web/app.js").status_code == 200
    assert client.get("/api/versions").status_code == 401


def test_sign_in_then_chat_streams_and_decides(site, open_page):
    page = open_page(sign_in=False)
    page.wait_for_selector("#signin:not([hidden])")
    shot(page, "signin-desktop")
    page.fill("#signin-token", "not-a-real-token-0123456789")
    page.click("#signin button[type=submit]")
    page.wait_for_function("() => document.querySelector('#signin-error').textContent.includes('not accepted')")
    page.fill("#signin-token", ADMIN)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#page-chat:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('doppel.token')") == ADMIN
    page.wait_for_function("() => document.querySelector('#chat-version').options.length >= 2")

    # Record what the reply looks like while it streams: text on screen before the reply is done.
    page.evaluate("""() => {
        window.__partial = [];
        new MutationObserver(() => {
            const turn = [...document.querySelectorAll('#chat-log .turn.twin')].pop();
            if (turn && turn.dataset.state === 'streaming') {
                const text = turn.querySelector('.text').textContent;
                if (text) window.__partial.push(text.length);
            }
        }).observe(document.querySelector('#chat-log'), {subtree: true, childList: true, characterData: true});
    }""")
    page.click("#context-box summary")
    page.fill("#ctx-key-1", "deal_stage")
    page.fill("#ctx-value-1", "negotiation")
    page.fill("#chat-message", "Should we close the TestPilot deal this week?")
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as answer:
        page.press("#chat-message", "Enter")
    assert answer.value.headers["content-type"].startswith("text/event-stream")
    assert answer.value.request.headers["authorization"] == f"Bearer {ADMIN}"
    reply = page.locator("#chat-log .turn.twin").last
    page.wait_for_selector("#chat-log .turn.twin[data-state=done]")
    assert reply.locator(".who").inner_text() == f"{TWIN} v1.0"
    assert reply.locator(".text").inner_text().strip()
    assert "tokens" in reply.locator(".meta").inner_text()
    # Retrieval is on by default: the records the reply was given are listed under it.
    done = [line for line in answer.value.text().split("\n") if line.startswith("data:")][-1]
    sources = json.loads(done[5:])["sources"]
    assert sources and reply.locator(".sources li").count() == len(sources)
    assert reply.locator(".sources .source-key").first.text_content() == sources[0]["key"]
    assert page.evaluate("window.__partial.length") >= 1, "the reply only appeared when it was complete"
    assert "deal_stage: negotiation" in page.locator("#chat-log .turn.user .ctx").inner_text()

    # A second message carries the first exchange as history.
    page.fill("#chat-message", "And what price?")
    with page.expect_request(lambda r: r.url.endswith("/api/chat")) as asked:
        page.press("#chat-message", "Enter")
    body = asked.value.post_data_json
    assert [t["role"] for t in body["history"]] == ["user", "assistant"]
    assert body["history"][0]["content"] == "Should we close the TestPilot deal this week?"
    page.wait_for_function("() => document.querySelectorAll('#chat-log .turn.twin[data-state=done]').length == 2")

    # Decide, on a version picked by name.
    page.check("#mode-decide")
    page.select_option("#chat-version", "v1.0")
    page.fill("#chat-message", "New client wants 30% discount on the annual plan")
    with page.expect_response(lambda r: r.url.endswith("/api/decide")) as decided:
        page.click("#chat-send")
    decision = decided.value.json()
    assert decided.value.request.post_data_json["version"] == "v1.0"
    page.wait_for_selector("#chat-log .turn.decision[data-state=done]")
    card = page.locator("#chat-log .turn.decision").last
    assert card.locator(".decision-choice").inner_text() == decision["choice"]
    assert card.locator(".bars li").count() == 3
    assert card.locator(".sources li").count() == len(decision["sources"])
    shares = [float(t.rstrip("%")) for t in card.locator(".bars .pct").all_inner_texts()]
    assert abs(sum(shares) - 100) < 0.5
    if decision["rationale"]:
        assert card.locator(".rationale").inner_text().strip() == decision["rationale"].strip()
    shot(page, "chat-desktop")

    page.click("#chat-reset")
    assert page.locator("#chat-log .turn").count() == 0


def test_a_training_run_from_the_page(site, open_page):
    page = open_page("#/training")
    page.wait_for_selector("#job[data-state=succeeded]")  # the fixture's v1.0 run
    before = site.api("GET", "/api/versions").json()["versions"]
    page.fill("#train-epochs", "1")
    page.fill("#train-lr", "0.02")
    page.fill("#train-batch", "4")
    page.fill("#train-maxlen", "128")
    with page.expect_response(lambda r: r.url.endswith("/api/train")) as queued:
        page.click("#train-full")
    assert queued.value.status == 202
    sent = queued.value.request.post_data_json
    assert sent == {
        "twin": TWIN,
        "mode": "full",
        "epochs": 1,
        "learning_rate": 0.02,
        "batch_size": 4,
        "max_length": 128,
    }
    job = queued.value.json()["job_id"]
    page.wait_for_selector(f"#job[data-job-id='{job}'][data-state=running]", timeout=60_000)
    # The curve moves while it trains.
    page.wait_for_function("() => Number(document.querySelector('#loss-chart').dataset.points) >= 1", timeout=60_000)
    first = int(page.get_attribute("#loss-chart", "data-points"))
    page.wait_for_function(
        f"() => Number(document.querySelector('#loss-chart').dataset.points) > {first}"
        " || document.querySelector('#job').dataset.state !== 'running'",
        timeout=60_000,
    )
    moved = int(page.get_attribute("#loss-chart", "data-points"))
    assert moved > first, "the loss curve did not grow while the run trained"
    assert page.locator("#loss-chart svg polyline").count() == 1
    facts = page.locator("#job-facts").inner_text()
    assert re.search(r"Step\s+\d+ / 16", facts) and "Tokens/s" in facts
    shot(page, "training-desktop")
    page.wait_for_selector(f"#job[data-job-id='{job}'][data-state=succeeded]", timeout=120_000)
    after = site.api("GET", "/api/versions").json()["versions"]
    assert len(after) == len(before) + 1
    new = after[-1]["version"]
    page.wait_for_function(f"() => document.querySelector('#job-facts').textContent.includes('{new}')")
    assert page.get_attribute("#loss-chart", "data-points") == "16"
    page.wait_for_selector(f"#jobs-table tr[data-job-id='{job}']")
    assert "succeeded" in page.locator(f"#jobs-table tr[data-job-id='{job}']").inner_text()
    shot(page, "training-finished-desktop")

    go(page, "versions")
    page.wait_for_selector(f"#versions-table thead th[data-version='{new}']")


def test_versions_side_by_side_promote_and_roll_back(site, open_page):
    page = open_page("#/versions")
    page.wait_for_selector("#versions-table thead th[data-version]")
    versions = site.api("GET", "/api/versions").json()["versions"]
    names = [v["version"] for v in versions]
    assert page.locator("#versions-table thead th[data-version]").all_inner_texts()[0].startswith(names[0])
    final = next(v["version"] for v in versions if v["final"])
    assert "final" in page.locator(f"#versions-table thead th[data-version='{final}']").inner_text()
    val_cells = page.locator("#versions-table tr[data-metric=val_loss] td").all_inner_texts()
    assert val_cells == [f"{v['val_loss']:.4f}" for v in versions]
    assert int(page.get_attribute("#versions-loss-chart", "data-points")) >= 2 * len(versions)
    shot(page, "versions-desktop")
    if len(names) >= 2:
        other = next(n for n in names if n != final)
        page.click(f"button[aria-label='Make {other} final']")
        page.wait_for_selector(f"#versions-table thead th.is-final[data-version='{other}']")
        assert site.api("GET", "/api/versions").json()["versions"][names.index(other)]["final"]
        page.click("#versions-rollback")
        page.wait_for_selector(f"#versions-table thead th.is-final[data-version='{final}']")


def test_blind_review_from_the_page(site, open_page):
    final = next(v["version"] for v in site.api("GET", "/api/versions").json()["versions"] if v["final"])
    page = open_page("#/review")
    page.fill("#review-reviewer", "Dana Reviewer")
    page.click("#review-start")
    # Nothing to review before an evaluation: the page offers one, runs it, then shows the first pair.
    page.wait_for_selector("#review-evaluate:not([hidden])")
    with page.expect_response(lambda r: r.url.endswith("/api/evaluate")) as queued:
        page.click("#review-evaluate")
    assert queued.value.status == 202, queued.value.text()
    page.wait_for_function(
        "() => !document.querySelector('#review-form').hidden"
        " || /evaluation (failed|cancelled)/"
        ".test(document.querySelector('#review-empty-text').textContent)",
        timeout=150_000,
    )
    assert page.is_visible("#review-form"), page.locator("#review-empty-text").inner_text()
    total = int(page.get_attribute("#review-counter", "data-remaining"))
    assert total >= 1 and f"{total} of {total} pairs left" in page.locator("#review-counter").inner_text()
    assert page.locator("#reply-1").inner_text().strip() and page.locator("#reply-2").inner_text().strip()
    assert page.evaluate("document.activeElement.id") == "pick-1"
    shot(page, "review-desktop")

    # Keyboard only: 2 picks reply 2, 7 scores, Enter submits.
    with page.expect_response(lambda r: r.url.endswith("/api/review") and r.request.method == "POST") as sent:
        page.keyboard.press("2")
        page.keyboard.press("7")
        page.keyboard.press("Enter")
    body = sent.value.request.post_data_json
    assert sent.value.status == 200, sent.value.text()
    assert (body["picked"], body["score"], body["version"], body["reviewer"]) == ("2", 7, final, "Dana Reviewer")
    page.wait_for_selector("#review-score[data-reviews='1']")
    assert "mean score 7.0" in page.locator("#review-score").inner_text()
    page.wait_for_function(f"() => document.querySelector('#review-counter').dataset.remaining === '{total - 1}'")
    scorecard = site.api("GET", f"/api/versions/{final}/scorecard").json()
    assert scorecard["human"]["reviews"] == 1 and scorecard["human"]["mean_score"] == 7

    # The Versions page shows the new numbers, and opens the version's report and card.
    go(page, "versions")
    page.wait_for_function(
        f'() => document.querySelector("#versions-table tr[data-metric=human_reviews]")'
        f".cells[{_column(site, final)}].textContent === '1'"
    )
    with page.context.expect_page() as opened:
        page.click(f"a.doc-report[aria-label^='{final}']")
    report = opened.value
    report.wait_for_function("() => location.protocol === 'blob:' && document.readyState === 'complete'")
    assert final in report.content()
    with page.context.expect_page() as opened:
        page.click(f"a.doc-card[aria-label^='{final}']")
    card = opened.value
    card.wait_for_function("() => location.protocol === 'blob:' && document.readyState === 'complete'")
    assert card.locator("body").inner_text().strip()


def _column(site, version: str) -> int:
    """The versions table's column of a version (column 0 holds the row names)."""
    names = [v["version"] for v in site.api("GET", "/api/versions").json()["versions"]]
    return names.index(version) + 1


def test_health_page(site, open_page):
    page = open_page("#/health")
    page.wait_for_function("() => document.querySelector('#health-db').textContent.includes('yes')")
    assert "PostgreSQL" in page.locator("#health-db").inner_text()
    page.wait_for_function("() => document.querySelector('#health-workers').textContent.includes('yes')")
    assert page.locator("#health-disk meter").count() == 1
    assert page.locator("#health-gpu").inner_text().strip()
    shot(page, "health-desktop")


def test_every_page_at_phone_width_is_labelled_and_fits(site, open_page):
    page = open_page("#/chat", viewport=PHONE)
    unlabelled = """() => [...document.querySelectorAll('input, select, textarea, button, progress, meter, a[href]')]
        .filter(e => e.offsetParent !== null || e.closest('[hidden]') === null)
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.getAttribute('aria-labelledby') && !(e.textContent || '').trim())
        .map(e => e.outerHTML.slice(0, 120))"""
    for name in PAGES:
        go(page, name)
        assert page.evaluate(unlabelled) == [], name
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} is {width}px wide at phone width"
        shot(page, f"{name}-phone")


def test_sign_out_brings_back_the_form(site, open_page):
    page = open_page("#/health")
    page.click("#signout")
    page.wait_for_selector("#signin:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('doppel.token')") is None
    assert page.evaluate("document.querySelector('#main').hidden")
    # Signing in again brings the page back where it was.
    page.fill("#signin-token", ADMIN)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#page-health[data-loaded]:not([hidden])")


def test_a_forget_request_from_the_page_marks_the_versions_that_hold_it(site, open_page):
    import json

    v1 = site.home / "models" / TWIN / "v1.0"
    key = sorted(k for k, side in json.loads((v1 / "splits.json").read_text()).items() if side == "train")[0]
    page = open_page("#/privacy")
    page.select_option("#forget-kind", "record")
    page.fill("#forget-value", key)
    page.fill("#forget-by", "data protection officer")
    page.click("#forget-submit")
    page.wait_for_function("() => document.querySelector('#forget-result').textContent.includes('filed')")
    result = page.locator("#forget-result").inner_text()
    assert "1 record matches" in result and "v1.0" in result, result
    page.wait_for_selector("#forget-table tbody tr")
    assert key in page.locator("#forget-table tbody").inner_text()
    shot(page, "privacy-desktop")
    # A value the API refuses comes back as its message, naming the field.
    page.select_option("#forget-kind", "email")
    page.fill("#forget-value", "not-an-address")
    page.click("#forget-submit")
    page.wait_for_function("() => document.querySelector('#notice').textContent.includes('email')")
    go(page, "versions")
    badge = page.locator("#versions-table thead th[data-version='v1.0'] .badge.forgotten")
    assert badge.count() == 1 and "#" in badge.get_attribute("title")


def test_an_export_uploaded_from_the_page_is_imported_with_its_counts(site, open_page):
    from tests.integration.test_import_chats import WHATSAPP_ANDROID

    page = open_page("#/import")
    page.select_option("#import-format", "whatsapp")
    chat = {"name": "WhatsApp Chat with Bo Chen.txt", "mimeType": "text/plain", "buffer": WHATSAPP_ANDROID.encode()}
    page.set_input_files("#import-file", files=[chat])
    page.fill("#import-me", "Ann Lee")
    page.click("#import-submit")
    page.wait_for_function("() => document.querySelector('#import-stage').textContent.startsWith('succeeded')")
    facts = page.locator("#import-result").inner_text()
    assert "Written\n3" in facts and "Conversations\n2" in facts, facts
    assert "ann lee (1 messages)" in page.locator("#import-stage").inner_text()
    shot(page, "import-desktop")


def _a_training_prompt() -> str:
    """A question whose feedback pair trains (not held out): the split is a stable hash of the prompt."""
    from doppel.dataset.examples import split_of
    from doppel.evaluation.preference_pairs import _prompt_key

    for n in range(50):
        question = f"Can you send Dana the renewal numbers, version {n}?"
        if split_of(f"feedback:{_prompt_key([{'role': 'user', 'content': question}])}", 0.1) == "train":
            return question
    raise AssertionError("no training prompt among 50")


def test_an_edit_from_the_chat_is_counted_and_a_preference_run_learns_it(site, open_page):
    question = _a_training_prompt()
    page = open_page("#/chat")
    page.wait_for_function("() => document.querySelector('#chat-version').options.length >= 2")
    page.fill("#chat-message", question)
    page.press("#chat-message", "Enter")
    page.wait_for_selector("#chat-log .turn.twin[data-state=done]")
    reply = page.locator("#chat-log .turn.twin").last
    original = reply.locator(".text").inner_text()
    reply.locator("button[aria-label^='Edit reply']").click()
    editor = reply.locator("textarea")
    assert editor.input_value().strip() == original.strip()
    editor.fill("Sending them now. Onwards!")
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as sent:
        reply.locator("button", has_text="Save edit").click()
    assert sent.value.status == 201, sent.value.text()
    body = sent.value.request.post_data_json
    assert body["edited"] == "Sending them now. Onwards!" and body["reply"].strip() == original.strip()
    assert body["messages"][-1] == {"role": "user", "content": question} and body["source"] == "web"
    page.wait_for_function("() => document.querySelector('.feedback[data-sent=true]') !== null")
    assert "1 waiting to be learned" in reply.locator(".feedback-status").inner_text()

    go(page, "review")
    page.wait_for_function("() => Number(document.querySelector('#review-waiting').dataset.waiting) >= 1")

    before = site.api("GET", "/api/versions").json()["versions"]
    go(page, "training")
    with page.expect_response(lambda r: r.url.endswith("/api/train")) as queued:
        page.click("#train-preference")
    assert queued.value.status == 202 and queued.value.request.post_data_json["mode"] == "preference"
    job = queued.value.json()["job_id"]
    # A review picked the real reply earlier in this module may add a held-out pair; if the gate then passes,
    # the candidate is scored against final's scorecard before the run ends: allow for that evaluation.
    page.wait_for_selector(f"#job[data-job-id='{job}'][data-state=succeeded]", timeout=240_000)
    after = site.api("GET", "/api/versions").json()["versions"]
    assert len(after) == len(before) + 1
    new = after[-1]
    assert new["mode"] == "preference" and new["preference_pairs"] >= 1
    go(page, "versions")
    page.wait_for_selector(f"#versions-table thead th[data-version='{new['version']}']")
    cell = page.locator("#versions-table tr[data-metric=preference_pairs_learned] td").nth(len(after) - 1)
    assert cell.inner_text() == str(new["preference_pairs"])
    waiting = site.api("GET", "/api/feedback").json()
    assert waiting["edits_waiting"] == 0
