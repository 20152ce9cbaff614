"""Request and response bodies of the HTTP API (validated; unknown fields are a 422)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainRequest(_Body):
    """The seed's body; every field optional. Missing fields come from the twin's config."""

    twin: str | None = Field(None, description="Twin to train (default: the config's first).")
    mode: Literal["incremental", "full"] = Field("full", description="incremental: new records since final.")
    epochs: int | None = Field(None, ge=1, le=50)
    learning_rate: float | None = Field(None, gt=0, le=1.0)
    batch_size: int | None = Field(None, ge=1, le=1024)
    max_length: int | None = Field(None, ge=16, description="Up to the base model's context length.")
    max_steps: int | None = Field(None, ge=1)

    def overrides(self) -> dict:
        return self.model_dump(exclude_none=True, exclude={"twin", "mode"})


class Queued(BaseModel):
    job_id: int
    twin: str
    mode: str
    state: str
    status_url: str


class TwinRef(_Body):
    twin: str | None = None


class CancelRequest(_Body):
    twin: str | None = None


class TestRequest(_Body):
    prompt: str = Field(..., min_length=1, max_length=20_000)
    twin: str | None = None
    max_new_tokens: int = Field(200, ge=1, le=2048)


class TestReply(BaseModel):
    reply: str
    twin: str
    version: str
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int


class JobStatus(BaseModel):
    job_id: int
    twin: str
    mode: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    trigger: str
    stage: str | None = None
    step: int | None = None
    total_steps: int | None = None
    epoch: int | None = None
    epochs: int | None = None
    eta_seconds: float | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    examples: dict | None = None
    tokens_per_second: float | None = None
    queued_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    version: str | None = None
    message: str | None = None
    error: str | None = None
    attempts: int = 0
    cancel_requested: bool = False
    params: dict = {}
    loss_history: list[list[float]] = []

    @classmethod
    def from_run(cls, run, *, with_history: bool = True) -> "JobStatus":
        p = run.progress or {}
        return cls(
            job_id=run.id, twin=run.twin, mode=p.get("mode", run.mode), state=run.state, trigger=run.trigger,
            stage=p.get("stage"), step=p.get("step"), total_steps=p.get("total_steps"), epoch=p.get("epoch"),
            epochs=p.get("epochs"), eta_seconds=p.get("eta_seconds") if run.state == "running" else None,
            train_loss=p.get("train_loss"), val_loss=p.get("val_loss"), examples=p.get("examples"),
            tokens_per_second=p.get("tokens_per_second"), queued_at=run.created_at, started_at=run.started_at,
            finished_at=run.finished_at, heartbeat_at=run.heartbeat_at, version=run.version, message=run.message,
            error=run.error, attempts=run.attempts, cancel_requested=run.cancel_requested, params=run.params,
            loss_history=p.get("loss_history", []) if with_history else [],
        )
