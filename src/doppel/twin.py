"""The Python face of a twin: ask it, in this process or on a doppel server.

    from doppel import Twin
    allan = Twin.load("allan-maverick")                       # from the registry, in-process
    allan = Twin.connect("http://gpu1:8011", twin="allan-maverick", token="...")
    allan.chat("Should we close this deal?", context={"deal_amount": 50000})
    d = allan.decide("New client wants 30% discount", ["Accept", "Counter-offer", "Decline"])

The HTTP API and the CLI call the same :class:`Twin` methods, so the three
answer alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from doppel.config import Settings, TwinConfig, load_settings
from doppel.inference.backend import Backend, Generation, Sampling
from doppel.inference.decisions import (
    Decision,
    References,
    decide_from_scores,
    decision_messages,
    neutral_messages,
    option_scores,
    rationale_messages,
    resolved_scoring,
)
from doppel.inference.messages import chat_messages
from doppel.inference.prompting import Prompter


@dataclass
class Reply:
    text: str
    twin: str
    version: str | None
    backend: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    finish_reason: str = "stop"
    history_dropped: int = 0  # earlier turns cut, oldest first, to fit the context window
    # The person's records the answer was given (retrieval): key, source, date, similarity, excerpt.
    sources: list[dict] = field(default_factory=list)
    retrieval_notice: str | None = None  # why nothing was retrieved, when retrieval was asked for

    @property
    def notice(self) -> str | None:
        notes = []
        if self.history_dropped:
            notes.append(f"the {self.history_dropped} oldest history turns were left out to fit the context window")
        if self.retrieval_notice:
            notes.append(self.retrieval_notice)
        return "; ".join(notes) or None

    def as_dict(self) -> dict:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["reply"] = data.pop("text")
        data["notice"] = self.notice
        return data


@dataclass
class _Grounding:
    """What retrieval added to one request."""

    messages: list[dict[str, str]]
    sources: list[dict] = field(default_factory=list)
    notice: str | None = None


class TwinError(RuntimeError):
    """A remote twin refused or failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class Twin:
    """A loaded twin: one version served by one backend."""

    def __init__(
        self,
        settings: Settings,
        config: TwinConfig,
        backend: Backend,
        prompter: Prompter,
        retriever=None,
        retrieve_by_default: bool | None = None,
    ):
        self.settings = settings
        self.config = config
        self.backend = backend
        self.prompter = prompter
        # A doppel.retrieval.search.Retriever (None: retrieval off). It connects on the first question.
        self.retriever = retriever
        # What a question that does not say gets (retrieval.default, "auto" already decided for this version).
        self.retrieve_by_default = (
            config.retrieval.enabled and config.retrieval.default != "off"
            if retrieve_by_default is None
            else retrieve_by_default
        )
        # decide's reference scores per option list (they do not depend on the situation).
        self.references = References()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def version(self) -> str | None:
        return self.backend.version

    @classmethod
    def load(
        cls,
        name: str | None = None,
        *,
        version: str | None = "final",
        config: str | Path | Settings | None = None,
        backend: str | None = None,
    ) -> Twin:
        """A version from the registry (``final`` by default; None: the bare base model), ready to answer."""
        from doppel.inference.backends import open_backend
        from doppel.inference.backends.common import twin_prompter
        from doppel.registry import Registry

        settings = config if isinstance(config, Settings) else load_settings(config)
        twin = settings.twin(name)
        if backend is not None:
            twin = twin.model_copy(update={"inference": twin.inference.model_copy(update={"backend": backend})})
            twin = TwinConfig.model_validate(twin.model_dump())  # re-validate the override
        found = Registry(settings.resolved_models_dir).get(twin.name, version) if version is not None else None
        served = open_backend(settings, twin, found)
        prompter = getattr(served, "prompter", None) or twin_prompter(settings, twin, found)
        retriever = None
        if twin.retrieval.enabled:
            from doppel.db import Database
            from doppel.retrieval.search import Retriever

            retriever = Retriever(Database(settings), twin.name, twin.retrieval)
        return cls(settings, twin, served, prompter, retriever, retrieval_by_default(twin, found))

    @staticmethod
    def connect(
        url: str,
        twin: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 300.0,
        version: str | None = None,
    ) -> RemoteTwin:
        """A twin served by ``doppel serve`` at ``url`` (``version``: default final); same methods, same results."""
        return RemoteTwin(url, twin, token=token, timeout=timeout, version=version)

    # -- chat -----------------------------------------------------------------------------------

    def _sampling(self, max_tokens: int | None, temperature: float | None, seed: int, stop: Sequence[str]) -> Sampling:
        inference = self.config.inference
        return Sampling(
            max_tokens=max_tokens or inference.max_new_tokens,
            temperature=inference.temperature if temperature is None else temperature,
            seed=seed,
            stop=tuple(stop),
        )

    def messages_for(
        self, message: str, context: Mapping[str, Any] | None = None, history: Sequence[Mapping[str, str]] = ()
    ) -> list[dict[str, str]]:
        """The chat turns a question becomes: persona, history, then context above the question."""
        return chat_messages(self.config.persona, message, context=context, history=history)

    def chat(
        self,
        message: str,
        *,
        context: Mapping[str, Any] | None = None,
        history: Sequence[Mapping[str, str]] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int = 0,
        stop: Sequence[str] = (),
        retrieval: bool | None = None,
    ) -> Reply:
        """The twin's reply to ``message``; ``history`` is earlier turns, ``context`` facts shown above it.

        ``retrieval`` (default: the twin's ``retrieval.enabled``) puts the person's most similar records in
        the prompt; the reply's ``sources`` name them.
        """
        return self.complete(
            self.messages_for(message, context, history),
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            stop=stop,
            retrieval=retrieval,
        )

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int = 0,
        stop: Sequence[str] = (),
        retrieval: bool | None = None,
    ) -> Reply:
        """A reply to ready chat turns (system first, question last), oldest turns cut to fit."""
        started = time.perf_counter()
        sampling = self._sampling(max_tokens, temperature, seed, stop)
        grounded = self._ground(list(messages), sampling.max_tokens, retrieval)
        fitted = self.prompter.fit(grounded.messages, sampling.max_tokens)
        generation = self.backend.chat(fitted.messages, sampling)
        return self._reply(generation, started, fitted.dropped_turns, grounded)

    def stream(
        self,
        message: str,
        *,
        context: Mapping[str, Any] | None = None,
        history: Sequence[Mapping[str, str]] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int = 0,
        stop: Sequence[str] = (),
        retrieval: bool | None = None,
    ) -> Iterator[str | Reply]:
        """Text pieces as they come, then the whole :class:`Reply`."""
        return self.stream_messages(
            self.messages_for(message, context, history),
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            stop=stop,
            retrieval=retrieval,
        )

    def stream_messages(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int = 0,
        stop: Sequence[str] = (),
        retrieval: bool | None = None,
    ) -> Iterator[str | Reply]:
        started = time.perf_counter()
        sampling = self._sampling(max_tokens, temperature, seed, stop)
        grounded = self._ground(list(messages), sampling.max_tokens, retrieval)
        fitted = self.prompter.fit(grounded.messages, sampling.max_tokens)  # raises before the first piece

        def pieces():
            for item in self.backend.stream(fitted.messages, sampling):
                if isinstance(item, Generation):
                    yield self._reply(item, started, fitted.dropped_turns, grounded)
                else:
                    yield item

        return pieces()

    # -- retrieval ------------------------------------------------------------------------------

    def _ground(self, messages: list[dict[str, str]], max_new_tokens: int, retrieval: bool | None) -> _Grounding:
        """The turns with the person's most similar records added to the system message, within budget.

        The question is the last user turn; the budget is what the system message and question leave of
        the context window (history is cut after, as without retrieval), capped by ``retrieval.max_tokens``.
        """
        wanted = self.retrieve_by_default if retrieval is None else retrieval
        if not wanted:
            return _Grounding(messages)
        if self.retriever is None:
            return _Grounding(messages, notice="retrieval is off for this twin ([twins.retrieval] enabled = false)")
        from doppel.retrieval.prompt import memory_block, with_memories

        question = messages[-1]["content"] if messages else ""
        found = self.retriever.find(question)
        if not found.hits:
            return _Grounding(messages, notice=found.notice)
        bare = [m for m in messages[:1] if m["role"] == "system"] + messages[-1:]
        room = self.prompter.context_length - max_new_tokens - self.prompter.count(bare) - 8
        budget = min(self.config.retrieval.max_tokens, room)
        block, kept = memory_block(
            found.hits, lambda text: len(self.prompter.encode(text)), budget, self.config.retrieval.excerpt_chars
        )
        return _Grounding(with_memories(messages, block), [h.as_source() for h in kept])

    def _reply(self, generation: Generation, started: float, dropped: int, grounded: _Grounding | None = None) -> Reply:
        return Reply(
            text=generation.text,
            twin=self.name,
            version=self.version,
            backend=self.backend.kind,
            prompt_tokens=generation.prompt_tokens,
            completion_tokens=generation.completion_tokens,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            finish_reason=generation.finish_reason,
            history_dropped=dropped,
            sources=grounded.sources if grounded else [],
            retrieval_notice=grounded.notice if grounded else None,
        )

    # -- decide ---------------------------------------------------------------------------------

    def decide(
        self,
        context: str | Mapping[str, Any],
        options: Sequence[str],
        *,
        abstain_below: float | None = None,
        rationale: bool = True,
        retrieval: bool | None = None,
    ) -> Decision:
        """Which option the twin would pick: each option scored as its whole answer, renormalised over the options."""
        started = time.perf_counter()
        asked = decision_messages(self.config.persona, context, options)
        options = [o.strip() for o in options]
        longest = max(len(self.prompter.encode(self.prompter.answer_text(o))) for o in options)
        grounded = self._ground(asked, longest, retrieval)
        fitted = self.prompter.fit(grounded.messages, longest)
        scoring = resolved_scoring(self.config.inference.decision_scoring, self.backend)
        scores = option_scores(
            self.backend,
            self.prompter,
            fitted.messages,
            options,
            scoring=scoring,
            neutral=neutral_messages(self.config.persona, options),
            references=self.references,
        )
        threshold = self.config.inference.abstain_below if abstain_below is None else abstain_below
        decision = decide_from_scores(options, scores, threshold)
        decision.scoring = scoring
        if rationale:
            why = rationale_messages(fitted.messages, decision.choice)
            decision.rationale = self.backend.chat(why, self._sampling(96, 0.0, 0, ())).text
        decision.twin, decision.version, decision.backend = self.name, self.version, self.backend.kind
        decision.sources, decision.notice = grounded.sources, grounded.notice
        decision.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return decision

    def feedback(
        self,
        messages: str | Sequence[Mapping[str, str]],
        reply: str | Reply,
        *,
        reviewer: str,
        rating: int | str | None = None,
        edited: str | None = None,
        as_person: bool = False,
        source: str = "python",
    ) -> dict:
        """Rate a reply (``"up"``, ``"down"`` or 1-10) and/or give the words the person would have used.

        ``messages``: the question (a string) or the conversation the reply answered. An edit becomes a
        preference pair for ``doppel train --preference``. Returns the twin's feedback counts.
        """
        from doppel.db import Database
        from doppel.feedback import record_feedback, summary

        db = Database(self.settings)
        record_feedback(
            db,
            self.name,
            messages=_turns(messages),
            reply=reply.text if isinstance(reply, Reply) else reply,
            reviewer=reviewer,
            version=reply.version if isinstance(reply, Reply) else self.version,
            rating=rating,
            edited=edited,
            as_person=as_person,
            source=source,
        )
        return summary(db, self.name)

    def forget(self) -> None:
        """Drop what this twin keeps between questions (reference scores, a backend's cached prompts), so the
        next one is answered from nothing: what the benchmarks time."""
        self.references.clear()
        forget = getattr(self.backend, "forget", None)
        if forget is not None:
            forget()

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Twin:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# "auto" turns retrieval off for a version whose scorecard measured it lowering the share read as the person
# by more than this (one reply in 20 is 5 points).
SHARE_DROP = 0.05


def retrieval_by_default(twin: TwinConfig, version) -> bool:
    """retrieval.default for one version: "auto" reads the version's scorecard (its retrieval part)."""
    cfg = twin.retrieval
    if not cfg.enabled or cfg.default == "off":
        return False
    if cfg.default == "on" or version is None:
        return True
    from doppel.evaluation.store import saved_scorecard

    card = saved_scorecard(version)
    measured = card.retrieval if card is not None else None
    if measured is None or measured.skipped or measured.on is None or measured.off is None:
        return True  # nothing measured against it
    on, off = measured.on, measured.off
    share_drop = (
        on.share_as_person is not None
        and off.share_as_person is not None
        and off.share_as_person - on.share_as_person > SHARE_DROP
    )
    gain = measured.similarity_gain
    less_similar = gain is not None and gain.high is not None and gain.high < 0
    return not (share_drop or less_similar)


class RemoteTwin:
    """``Twin``'s methods over a doppel server's HTTP API."""

    def __init__(
        self,
        url: str,
        twin: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 300.0,
        version: str | None = None,
    ):
        import httpx

        self.name = twin
        self.version = version
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def _post(self, path: str, body: dict) -> dict:
        import httpx

        try:
            response = self._http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise TwinError(f"{self._http.base_url}{path}: {exc}") from None
        if response.status_code >= 400:
            raise TwinError(_error_text(response), response.status_code)
        return response.json()

    def chat(
        self,
        message: str,
        *,
        context: Mapping[str, Any] | None = None,
        history: Sequence[Mapping[str, str]] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int = 0,
        retrieval: bool | None = None,
    ) -> Reply:
        body = self._chat_body(message, context, history, max_tokens, temperature, seed, retrieval)
        return _reply_from(self._post("/api/chat", body))

    def stream(
        self,
        message: str,
        *,
        context: Mapping[str, Any] | None = None,
        history: Sequence[Mapping[str, str]] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int = 0,
        retrieval: bool | None = None,
    ) -> Iterator[str | Reply]:
        body = {**self._chat_body(message, context, history, max_tokens, temperature, seed, retrieval), "stream": True}
        with self._http.stream("POST", "/api/chat", json=body) as response:
            if response.status_code >= 400:
                response.read()
                raise TwinError(_error_text(response), response.status_code)
            event = "message"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    data = json.loads(line[5:])
                    if event == "error":
                        raise TwinError(data.get("detail", "the server failed mid-reply"), 500)
                    yield _reply_from(data) if event == "done" else data["delta"]
                    event = "message"

    def decide(
        self,
        context: str | Mapping[str, Any],
        options: Sequence[str],
        *,
        abstain_below: float | None = None,
        rationale: bool = True,
        retrieval: bool | None = None,
    ) -> Decision:
        body = {"context": context, "options": list(options), "twin": self.name, "rationale": rationale}
        if retrieval is not None:
            body["retrieval"] = retrieval
        if self.version is not None:
            body["version"] = self.version
        if abstain_below is not None:
            body["abstain_below"] = abstain_below
        data = self._post("/api/decide", body)
        return Decision(**{k: data.get(k) for k in Decision.__dataclass_fields__ if k in data})

    def _chat_body(self, message, context, history, max_tokens, temperature, seed, retrieval=None) -> dict:
        body = _chat_body(self.name, message, context, history, max_tokens, temperature, seed)
        if retrieval is not None:
            body["retrieval"] = retrieval
        if self.version is not None:
            body["version"] = self.version
        return body

    def feedback(
        self,
        messages: str | Sequence[Mapping[str, str]],
        reply: str | Reply,
        *,
        reviewer: str,
        rating: int | str | None = None,
        edited: str | None = None,
        as_person: bool = False,
        source: str = "python",
    ) -> dict:
        """As :meth:`Twin.feedback`, through ``POST /api/feedback`` (``as_person`` needs an admin token)."""
        body: dict[str, Any] = {
            "messages": _turns(messages),
            "reply": reply.text if isinstance(reply, Reply) else reply,
            "reviewer": reviewer,
            "rating": rating,
            "edited": edited,
            "as_person": as_person,
            "source": source,
        }
        if self.name is not None:
            body["twin"] = self.name
        version = reply.version if isinstance(reply, Reply) else self.version
        if version is not None:
            body["version"] = version
        return self._post("/api/feedback", body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteTwin:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _turns(messages: str | Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """A question or a conversation as chat turns (system turns dropped: the twin's own prompt is not feedback)."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"]


def _chat_body(twin, message, context, history, max_tokens, temperature, seed) -> dict:
    body: dict[str, Any] = {"message": message, "personality": twin, "history": list(history), "seed": seed}
    if context:
        body["context"] = dict(context)
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    return body


def _reply_from(data: dict) -> Reply:
    fields = {k: data[k] for k in Reply.__dataclass_fields__ if k in data and k != "text"}
    return Reply(text=data["reply"], **fields)


def _error_text(response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return f"HTTP {response.status_code}: {detail if isinstance(detail, str) else json.dumps(detail)}"


class AllanBot:
    """The seed's decision helper, kept as a thin alias over :class:`Twin`.

    ``AllanBot(model="allan-maverick").make_decision(context=..., options=[...])``; pass ``url`` (and
    ``token``) to ask a doppel server instead of loading the model here.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        url: str | None = None,
        token: str | None = None,
        config: str | Path | Settings | None = None,
    ):
        self.twin = Twin.connect(url, model, token=token) if url else Twin.load(model, config=config)

    def make_decision(self, context: str | Mapping[str, Any], options: Sequence[str], **kwargs) -> Decision:
        return self.twin.decide(context, options, **kwargs)

    def chat(self, message: str, **kwargs) -> Reply:
        return self.twin.chat(message, **kwargs)
