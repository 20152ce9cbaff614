"""What the routes share: settings, the database, the queue, the loaded models; and the auth dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import procrastinate
from fastapi import Depends, HTTPException, Request

from doppel.config import ConfigError, Settings, TwinConfig
from doppel.db import Database
from doppel.service.auth import Access, authorize
from doppel.service.gate import Gate
from doppel.service.models import ModelCache


@dataclass
class ServiceState:
    settings: Settings
    host: str
    db: Database
    queue: procrastinate.App
    models: ModelCache = field(init=False)
    gates: dict[str, Gate] = field(init=False, default_factory=dict)
    imports: dict = field(init=False, default_factory=dict)  # id -> routes.importing.ImportJob

    def __post_init__(self):
        self.models = ModelCache(self.settings)

    def gate(self, twin: TwinConfig) -> Gate:
        """The twin's bound on model calls in this process (``inference.max_concurrent`` / ``max_queued``)."""
        if twin.name not in self.gates:
            self.gates[twin.name] = Gate(twin.inference.max_concurrent, twin.inference.max_queued)
        return self.gates[twin.name]

    def twin(self, name: str | None) -> TwinConfig:
        try:
            return self.settings.twin(name)
        except ConfigError:
            known = [t.name for t in self.settings.twins]
            raise HTTPException(404, {"message": f"unknown twin {name!r}", "known_twins": known}) from None


def get_state(request: Request) -> ServiceState:
    return request.app.state.doppel


State = Annotated[ServiceState, Depends(get_state)]


def _require(access: Access):
    def check(request: Request, state: State) -> None:
        authorize(request, state.settings.service, state.host, access)

    return Depends(check)


READ = _require(Access.READ)
ADMIN = _require(Access.ADMIN)
