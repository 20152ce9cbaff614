"""Request and response bodies of the HTTP API (validated; unknown fields are a 422)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from doppel.config import TrainingOverrides

# Seeds go to torch and llama.cpp as unsigned 32-bit numbers.
SEED_MAX = 2**32 - 1


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainRequest(TrainingOverrides):
    """The seed's body; every field optional. Missing fields come from the twin's config, and the
    settings' bounds are the config's own (``TrainingOverrides``)."""

    twin: str | None = Field(None, description="Twin to train (default: the config's first).")
    mode: Literal["incremental", "full", "preference"] = Field(
        "full",
        description="incremental: new records since final; preference: DPO on the feedback pairs, from final.",
    )

    def overrides(self) -> TrainingOverrides:
        return TrainingOverrides.model_validate(self.model_dump(exclude_none=True, exclude={"twin", "mode"}))


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
    job_id: int | None = Field(
        None,
        ge=1,
        le=2**63 - 1,
        description="The run to cancel (default: the twin's training run, else its evaluation).",
    )


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
    def from_run(cls, run, *, with_history: bool = True) -> JobStatus:
        p = run.progress
        return cls(
            job_id=run.id,
            twin=run.twin,
            mode=p.mode or run.mode,
            state=run.state,
            trigger=run.trigger,
            stage=p.stage,
            step=p.step,
            total_steps=p.total_steps,
            epoch=p.epoch,
            epochs=p.epochs,
            eta_seconds=p.eta_seconds if run.state == "running" else None,
            train_loss=p.train_loss,
            val_loss=p.val_loss,
            examples=p.examples,
            tokens_per_second=p.tokens_per_second,
            queued_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            heartbeat_at=run.heartbeat_at,
            version=run.version,
            message=run.message,
            error=run.error,
            attempts=run.attempts,
            cancel_requested=run.cancel_requested,
            params=run.params,
            loss_history=(p.loss_history or []) if with_history else [],
        )


# -- asking the twin -------------------------------------------------------------------------------


class Turn(_Body):
    role: Literal["user", "assistant"]
    content: str = Field(..., max_length=100_000)


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here names the field instead of failing in the database.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _text_only(value):
    """Free-form JSON (``context``) may hold any strings; each must be text the tokenizer can encode."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text (a lone surrogate is not)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _text_only(key)
            _text_only(item)
    elif isinstance(value, list):
        for item in value:
            _text_only(item)
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class ChatRequest(_Body):
    """The seed's body (`message`, `personality`, `context`) plus history, streaming and sampling."""

    message: str = Field(..., max_length=100_000, description="The question for the twin.")
    personality: str | None = Field(None, description="The twin to ask (default: the config's first).")
    version: str | None = Field(None, description="The version to ask (default: final).", examples=["v1.0"])
    context: dict[str, Any] = Field(default_factory=dict, description="Facts shown above the question as key: value.")
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    stream: bool = Field(False, description="Send tokens as server-sent events.")
    max_tokens: int | None = Field(None, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    seed: int = Field(0, ge=0, le=SEED_MAX, description="Sampling seed (used when temperature > 0).")
    retrieval: bool | None = Field(
        None, description="Put the person's most similar records in the prompt (default: the twin's retrieval.enabled)."
    )

    _message = field_validator("message")(_not_blank)
    _context = field_validator("context")(_text_only)


class Source(BaseModel):
    """One of the person's records an answer was given: what it rests on."""

    key: str = Field(..., description="The record, as source:id (the CRM row).", examples=["emails:1042"])
    source: str
    written_at: str | None
    score: float = Field(..., description="Cosine similarity of the record to the question.")
    excerpt: str


class ChatReply(BaseModel):
    reply: str
    twin: str
    version: str | None
    backend: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    finish_reason: str
    history_dropped: int = Field(0, description="Oldest history turns left out to fit the context window.")
    sources: list[Source] = Field(default_factory=list, description="The person's records put in the prompt.")
    notice: str | None = None


class DecideRequest(_Body):
    context: str | dict[str, Any] = Field(..., description="The situation: text, or facts as key: value.")
    options: list[str] = Field(..., description="Two or more distinct choices.")
    twin: str | None = None
    version: str | None = Field(None, description="The version to ask (default: final).", examples=["v1.0"])
    abstain_below: float | None = Field(None, ge=0.0, le=1.0, description="Default: the twin's inference config.")
    rationale: bool = Field(True, description="Also ask the twin why (one short generation).")
    retrieval: bool | None = Field(
        None, description="Put the person's most similar records in the prompt (default: the twin's retrieval.enabled)."
    )

    @field_validator("options")
    @classmethod
    def _options(cls, value: list[str]) -> list[str]:
        from doppel.inference.decisions import check_options

        return check_options(value)

    @field_validator("context")
    @classmethod
    def _context(cls, value):
        if isinstance(value, str) and not value.strip() or not value:
            raise ValueError("must not be empty")
        return _text_only(value)


class DecideReply(BaseModel):
    choice: str
    probabilities: dict[str, float]
    abstained: bool
    rationale: str | None
    scores: dict[str, float]
    scoring: str | None = None  # how scores were made: inference.decision_scoring
    twin: str
    version: str | None
    backend: str
    latency_ms: float
    sources: list[Source] = Field(default_factory=list, description="The person's records put in the prompt.")
    notice: str | None = None


# -- OpenAI-compatible -----------------------------------------------------------------------------


class ContentPart(BaseModel):
    """One part of a message's content; only text parts are read (images and audio are accepted, unused)."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None

    @model_validator(mode="after")
    def _text_part_has_text(self) -> ContentPart:
        if self.type == "text" and self.text is None:
            raise ValueError("a text part needs a string `text`")
        return self


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # clients send name, tool fields...: accepted, unused

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    # The official client adds fields as OpenAI grows; unknown ones are accepted and ignored.
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[OpenAIMessage] = Field(..., min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(None, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    seed: int | None = Field(None, ge=0, le=SEED_MAX)
    stop: str | list[str] | None = None
    # doppel's own (OpenAI clients send it through extra_body); the reply then carries `sources`.
    retrieval: bool | None = Field(
        None, description="Put the person's most similar records in the prompt (default: the twin's retrieval.enabled)."
    )

    @field_validator("stop")
    @classmethod
    def _stop_not_empty(cls, value):
        stops = [value] if isinstance(value, str) else value or []
        if any(not s for s in stops):
            raise ValueError("a stop sequence must not be empty")
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    n: int = Field(1, ge=1, le=1, description="One choice per request.")


# -- evaluation and blind review -------------------------------------------------------------------


class EvaluateRequest(_Body):
    twin: str | None = Field(None, description="Twin to evaluate (default: the config's first).")
    version: str | None = Field(None, description="Version to evaluate (default: final).")
    seed: int | None = Field(
        None, ge=0, le=SEED_MAX, description="Default: the twin's evaluation.seed. Same seed, same numbers."
    )


class ReviewRequest(_Body):
    twin: str | None = Field(None, description="Default: the config's first twin.")
    version: str = Field(..., description="The version whose pair this is (from GET /api/review/next).")
    pair_id: str = Field(..., min_length=1, max_length=64)
    reviewer: str = Field(..., min_length=1, max_length=200, description="Who is reviewing (a name or e-mail).")

    _reviewer = field_validator("reviewer")(_no_nul)
    picked: Literal["1", "2", "cant_tell"] = Field(..., description="Which reply the person wrote, or cant_tell.")
    score: int = Field(..., ge=1, le=10, description="How good the twin's reply is, 1 to 10.")


class ForgetBody(_Body):
    """One forget request: exactly one of ``email``, ``name``, ``record``, ``contains``."""

    twin: str | None = Field(None, description="Only this twin (default: every twin).")
    email: str | None = Field(None, description="Every record sent by, to or mentioning this address.")
    name: str | None = Field(None, description='Every record naming this person ("Ann Smith").')
    record: str | None = Field(None, description="One record, by key: emails:1234.")
    contains: str | None = Field(None, description="Every record containing this text (any case).")
    requested_by: str = Field("", max_length=200, description="Who asked, kept with the request.")
    retrain: bool = Field(False, description="Queue a full retrain of each twin at once.")

    @model_validator(mode="after")
    def _one_kind(self):
        given = [k for k in ("email", "name", "record", "contains") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of email, name, record, contains")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("email", "name", "record", "contains") if getattr(self, k) is not None)


class FeedbackRequest(_Body):
    """Feedback on one of the twin's replies: a rating, an edit into what the person would have said, or both."""

    twin: str | None = Field(None, description="Default: the config's first twin.")
    version: str | None = Field(None, description="The version that wrote the reply (the `version` of its answer).")
    messages: list[Turn] = Field(
        ..., min_length=1, max_length=200, description="The conversation the reply answered, ending with the user turn."
    )
    reply: str = Field(..., min_length=1, max_length=20_000, description="The twin's reply.")
    rating: int | Literal["up", "down"] | None = Field(
        None, description="'up' (10), 'down' (1) or a whole number 1-10."
    )
    edited: str | None = Field(
        None, max_length=20_000, description="The reply as the person would have written it: a preference pair."
    )
    as_person: bool = Field(False, description="The edit is the person's own words. Admin token.")
    reviewer: str = Field(..., min_length=1, max_length=200, description="Who gives the feedback (a name or e-mail).")
    source: Literal["web", "api", "cli", "v1", "python"] = Field("api", description="The face the reply came from.")

    _texts = field_validator("reply", "edited", "reviewer")(lambda v: v if v is None else _no_nul(v))

    @field_validator("rating")
    @classmethod
    def _rating(cls, value):
        if isinstance(value, int) and not 1 <= value <= 10:
            raise ValueError("a whole number 1-10, or 'up' / 'down'")
        return value
