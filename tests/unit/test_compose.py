"""The compose file's defaults: nothing without authentication is published on the host."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).parents[2] / "docker-compose.yml"


def test_ollama_is_reached_on_the_compose_network_only():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert "ports" not in services["ollama"]  # Ollama has no auth: no host port by default
    assert "ollama" in {name for name in services}  # still there for the API and trainer to use
