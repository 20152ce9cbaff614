"""Every operation of the API, generating ones included, fed schema-driven inputs: never a 5xx, and every
response matches the OpenAPI schema it declares.

A property test (schemathesis on hypothesis) against a real `doppel serve` with a tiny twin trained on the
demo data. `make test` draws 8 examples per operation and pass (under a minute); `make test-long` draws 40.
The draws are derandomised, so a failure reproduces.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.integration.service import Server

EXAMPLES = 8  # per operation and pass in `make test`
LONG_EXAMPLES = 40


@pytest.fixture(scope="module")
def fuzz_server(pg_server, tiny_model_dir, base_models_cache, tmp_path_factory):
    from doppel.config import load_settings
    from doppel.demo.load import load_demo
    from doppel.demo.persona import generate
    from doppel.pipeline import train_twin

    name = f"fuzz_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(pg_server.get_uri(name)) as conn:
        load_demo(conn, generate(seed=7, scale=0.2))
    folder = tmp_path_factory.mktemp("fuzz")
    home = folder / "home"
    home.mkdir()
    (home / "base_models").symlink_to(base_models_cache, target_is_directory=True)
    config = folder / "doppel.toml"
    config.write_text(
        f'home = "{home}"\ndatabase_url = "{pg_server.get_uri(name)}"\n[schedule]\nenabled = false\n'
        f'[[twins]]\nname = "allan-maverick"\n[twins.base_model]\nname = "{tiny_model_dir}"\n'
        "[twins.training]\nmax_steps = 2\nmax_length = 128\neval_batches = 1\n"
        "[twins.promotion]\ntolerance = 10.0\n"
        "[twins.inference]\nmax_new_tokens = 8\nmax_concurrent = 4\n"
    )
    train_twin(load_settings(config))
    # No worker: queued runs stay queued, so the fuzzer's training and evaluation requests cost nothing.
    server = Server(config, folder / "serve.log", "--no-worker").wait_ready()
    yield server
    server.stop()


def _realistic(case):
    """The same generated request aimed at things that exist (the twin, its version), so it gets past the
    lookups and reaches the model; everything else stays as generated, except that a decision gets at least
    two distinct options (generated lists are mostly blanks and repeats, a 422 by design, and without this
    whether any request reached the model depended on how the generator happened to draw)."""
    if case.path_parameters and "version" in case.path_parameters:
        case.path_parameters["version"] = "v1.0"
    if isinstance(case.query, dict):
        case.query.pop("twin", None)
    if isinstance(case.body, dict):
        for key in ("twin", "personality", "version"):
            case.body.pop(key, None)
        if "model" in case.body:
            case.body["model"] = "allan-maverick"
            # Whatever came before, the conversation ends with a question (else it is a 422 by design).
            if isinstance(case.body.get("messages"), list):
                case.body["messages"] = [*case.body["messages"], {"role": "user", "content": "How is the deal?"}]
        if isinstance(case.body.get("options"), list):
            kept = {o.strip().casefold(): o.strip() for o in case.body["options"] if isinstance(o, str) and o.strip()}
            options = [o for o in kept.values() if "\x00" not in o][:2]
            for extra in ("Accept", "Decline"):
                if len(options) < 2 and extra.casefold() not in {o.casefold() for o in options}:
                    options.append(extra)
            case.body["options"] = options
    return case


PASSES = (
    ("as generated", GenerationMode.POSITIVE, lambda case: case),
    ("aimed at the twin", GenerationMode.POSITIVE, _realistic),
    ("invalid on purpose", GenerationMode.NEGATIVE, lambda case: case),
)


def _property(operation, mode, aim, examples: int, base: str, seen: dict):
    """One hypothesis test for one operation in one generation mode."""

    # No example database: a clone without .hypothesis/ must draw exactly what this one draws.
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode).map(aim))
    def check(case):
        response = case.call(base_url=base, timeout=120)
        seen.setdefault(operation.label, []).append(response.status_code)
        # Invalid requests are judged by status alone: their 4xx body is FastAPI's error shape.
        checks = [not_a_server_error] + ([response_schema_conformance] if mode is GenerationMode.POSITIVE else [])
        case.validate_response(response, checks=checks)

    return check


def test_no_operation_answers_5xx_or_breaks_its_schema(fuzz_server):
    _fuzz(fuzz_server, EXAMPLES)


@pytest.mark.longrun
def test_no_operation_answers_5xx_or_breaks_its_schema_on_more_draws(fuzz_server):
    _fuzz(fuzz_server, LONG_EXAMPLES)


def _fuzz(fuzz_server, examples: int) -> None:
    api = schemathesis.openapi.from_url(f"{fuzz_server.base}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    labels = {op.label for op in operations}
    assert {"POST /api/chat", "POST /api/decide", "POST /api/test", "POST /v1/chat/completions"} <= labels
    failures: dict[str, str] = {}
    seen: dict[str, list[int]] = {}
    for operation in operations:
        for name, mode, aim in PASSES:
            check = _property(operation, mode, aim, examples, fuzz_server.base, seen)
            try:
                check()
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as exc:  # one operation's failure must not hide the next's
                failures[f"{operation.label} ({name})"] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    print("\n".join(f"{label}: {sorted(codes)}" for label, codes in seen.items()))
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
    # The generating operations were reached, not only refused.
    for label in ("POST /api/chat", "POST /api/decide", "POST /api/test", "POST /v1/chat/completions"):
        assert 200 in seen[label], (label, seen[label])
