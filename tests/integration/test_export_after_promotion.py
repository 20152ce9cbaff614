"""`export.after_promotion`: the run that promotes a version exports it and pushes it to the Ollama hosts.

Pushed to a local server that enforces Ollama's documented blob and create protocol
(Ollama itself does not install here), and to a dead port that must not stop it.
"""

from __future__ import annotations

from doppel.db import Database
from doppel.pipeline import train_twin
from doppel.registry import Registry
from doppel.runs import list_runs
from tests.fakes.ollama_server import ollama_hub_server
from tests.fakes.ports import free_port

FAST = {"max_steps": 3, "batch_size": 4, "max_length": 128, "eval_batches": 2, "epochs": 1}


def test_a_promoted_version_is_exported_and_pushed_to_the_ollama_protocol_server(
    make_settings, tiny_model_dir, demo_db
):
    dead = f"http://127.0.0.1:{free_port()}"
    with ollama_hub_server() as hub:
        settings = make_settings(
            base_model={"name": str(tiny_model_dir)},
            training=FAST,
            export={"after_promotion": True, "hosts": [hub.url, dead], "quant": "q8_0"},
        )
        outcome = train_twin(settings)
        assert outcome.promoted and outcome.version.name == "v1.0"
        published = outcome.published
        assert published is not None and published.error is None, published
        by_host = {h["host"].rstrip("/"): h for h in published.hosts}
        assert by_host[hub.url.rstrip("/")]["ok"] and not by_host[dead]["ok"]
        assert {"allan-maverick:v1.0", "allan-maverick:latest"} <= set(hub.models)
        assert hub.uploads == 1

    version = Registry(settings.resolved_models_dir).get("allan-maverick")
    assert "q8_0" in version.manifest["exports"] and (version.path / "export" / "Modelfile").is_file()
    assert version.path.parent.joinpath("final").is_symlink()  # the seed's layout, readable outside doppel
    run = list_runs(Database(settings), "allan-maverick")[0]
    assert run.state == "succeeded" and "pushed to 1/2 Ollama hosts" in run.message and dead in run.message

    # The CLI pushes the same export to another host by hand; a dead host makes it exit 1.
    import subprocess
    import sys

    config = version.path.parents[2] / "doppel.toml"
    config.write_text(
        f'home = "{settings.home}"\ndatabase_url = "{settings.database_url}"\n\n[[twins]]\n'
        f'name = "allan-maverick"\n[twins.base_model]\nname = "{tiny_model_dir}"\n'
    )
    with ollama_hub_server() as second:
        ok = subprocess.run(
            [sys.executable, "-m", "doppel", "distribute", "--config", str(config), "--host", second.url],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert ok.returncode == 0, ok.stderr
        assert {"allan-maverick:v1.0", "allan-maverick:latest"} <= set(second.models)
        failed = subprocess.run(
            [
                sys.executable,
                "-m",
                "doppel",
                "distribute",
                "--config",
                str(config),
                "--host",
                second.url,
                "--host",
                dead,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert failed.returncode == 1 and dead in failed.stdout and second.uploads == 1  # nothing re-sent
