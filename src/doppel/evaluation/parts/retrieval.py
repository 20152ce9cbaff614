"""Retrieval, on against off: the same held-out prompts, scenarios and fact questions, with and without the
person's records in the prompt.

The index is read on its training-split rows only and never the record a question came from, so a
held-out answer cannot be looked up verbatim; what retrieval can add is what the person wrote elsewhere.
Style is judged like the style part (the same classifier, prompt words blanked: here the retrieved records
count as prompt, so copying them reads as no one), similarity to the real reply is paired on against off,
decisions use the product's own scoring, and the fact test asks a held-out deal's stage and amount.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence

from doppel.evaluation.setup import EvaluationSetup
from doppel.evaluation.stats import mean_or_none, paired_interval, rounded
from doppel.evaluation.style import sample_fields
from doppel.scorecard import Decisions, PairedTest, Retrieval, RetrievalArm

TRAIN_ONLY = ("train",)
FACT_TOKENS = 32


def run(setup: EvaluationSetup, style_pairs: Sequence[dict] = (), decisions: Decisions | None = None) -> Retrieval:
    from doppel.retrieval.search import Retriever

    twin = setup.twin
    if not twin.retrieval.enabled:
        return Retrieval(skipped="retrieval is off for this twin ([twins.retrieval] enabled = false)")
    retriever = Retriever(setup.db, twin.name, twin.retrieval)
    indexed = retriever.index.count(twin.name) if retriever.index.exists() else {}
    if not indexed.get("train"):
        return Retrieval(skipped=f"no retrieval index for {twin.name}: run `doppel index`", indexed=indexed)
    grounding = _Grounding(setup, retriever)
    card = Retrieval(k=twin.retrieval.k, indexed=indexed, on=RetrievalArm(), off=RetrievalArm())
    _style(setup, grounding, style_pairs, card)
    _decisions(setup, grounding, decisions, card)
    _facts(setup, grounding, card)
    card.mean_sources = rounded(mean_or_none(grounding.counts))
    card.retrieval_ms = rounded(statistics.median(grounding.ms)) if grounding.ms else None
    return card


class _Grounding:
    """Adds the nearest training-split records to a conversation, within the twin's budget."""

    def __init__(self, setup: EvaluationSetup, retriever):
        self.setup, self.retriever = setup, retriever
        self.counts: list[int] = []
        self.ms: list[float] = []

    def __call__(self, messages: list[dict], exclude: Sequence[str] = (), reply_tokens: int = 0) -> list[dict]:
        from doppel.retrieval.prompt import memory_block, with_memories

        cfg, prompter = self.setup.twin.retrieval, self.setup.prompter
        found = self.retriever.find(messages[-1]["content"], splits=TRAIN_ONLY, exclude=exclude)
        self.ms.append(found.ms)
        # The context the twin was trained at, less the reply: what the product's history fitting would allow.
        room = self.setup.data.max_length - prompter.count(messages) - reply_tokens
        block, kept = memory_block(
            found.hits, lambda text: len(prompter.encode(text)), min(cfg.max_tokens, room), cfg.excerpt_chars
        )
        self.counts.append(len(kept))
        return with_memories(messages, block)


def _generate(setup: EvaluationSetup, conversations: list[list[dict]], max_new_tokens: int) -> list[str]:
    from doppel.evaluation.replies import generate_replies

    replies = generate_replies(
        setup.local.model,
        setup.prompter,
        conversations,
        max_new_tokens=max_new_tokens,
        batch_size=setup.twin.evaluation.batch_size,
    )
    setup.generated.add(replies)
    return replies.texts


def _style(setup: EvaluationSetup, ground: _Grounding, style_pairs: Sequence[dict], card: Retrieval) -> None:
    from doppel.evaluation.parts.style import style_prompts
    from doppel.evaluation.similarity import Embedder, pairwise_similarity
    from doppel.evaluation.style import mask_prompt_words, prompt_text

    cfg = setup.twin.evaluation
    chosen = style_prompts(setup.built, setup.prompter, setup.data.max_length, cfg.style_examples)
    if not chosen:
        return
    plain = [e.prompt_messages for e in chosen]
    grounded = [ground(m, exclude=[e.key], reply_tokens=cfg.max_new_tokens) for m, e in zip(plain, chosen)]
    # The style part's twin replies are to the same prompts in the same order: reuse them.
    off = [p["twin"] for p in style_pairs] if len(style_pairs) == len(chosen) else None
    off = off or _generate(setup, plain, cfg.max_new_tokens)
    on = _generate(setup, grounded, cfg.max_new_tokens)
    real = [e.target for e in chosen]
    classifier, _ = setup.classifier()
    if classifier is not None:
        card.off.share_as_person = rounded(
            classifier.share_as_person([mask_prompt_words(t, prompt_text(m)) for t, m in zip(off, plain)])
        )
        card.on.share_as_person = rounded(
            classifier.share_as_person([mask_prompt_words(t, prompt_text(m)) for t, m in zip(on, grounded)])
        )
    embedder = Embedder()
    sim_off, sim_on = pairwise_similarity(off, real, embedder), pairwise_similarity(on, real, embedder)
    card.off.similarity, card.on.similarity = rounded(mean_or_none(sim_off)), rounded(mean_or_none(sim_on))
    card.similarity_gain = paired_interval(sim_on, sim_off)
    card.n, card.small_sample = len(chosen), sample_fields(len(chosen))["small_sample"]


def _decisions(setup: EvaluationSetup, ground: _Grounding, decisions: Decisions | None, card: Retrieval) -> None:
    from doppel.evaluation.baselines import mcnemar
    from doppel.evaluation.scenarios import configured_sets, deal_scenarios
    from doppel.inference.backends.transformers import TransformersBackend
    from doppel.inference.decisions import decision_messages, neutral_messages

    twin = setup.twin
    sets = configured_sets(twin.evaluation, twin.persona)
    if twin.evaluation.deal_scenarios and twin.sources.deals.enabled:
        derived = deal_scenarios(setup.records, twin.evaluation.deal_outcomes, setup.data.val_fraction)
        if derived.scenarios:
            sets.append(derived)
    scenarios = [s for each in sets for s in each.scenarios]
    if not scenarios:
        return
    # The decisions part's twin picks, when it ran: the "off" side need not be scored again.
    known = {(d.name, item.id): item.twin.picked for d in (decisions.sets if decisions else []) for item in d.items}
    backend = TransformersBackend(setup.local, setup.prompter)
    right_on, right_off = [], []
    for scenario_set in sets:
        for scenario in scenario_set.scenarios:
            messages = decision_messages(twin.persona, scenario.context, scenario.options)
            neutral = neutral_messages(twin.persona, scenario.options)
            exclude = [f"deals:{scenario.id.removeprefix('deal-')}"] if scenario_set.name == "deals" else []

            longest = max(len(setup.prompter.encode(setup.prompter.answer_text(o))) for o in scenario.options)
            off = known.get((scenario_set.name, scenario.id)) or _pick(backend, setup, scenario, messages, neutral)
            grounded = ground(messages, exclude=exclude, reply_tokens=longest)
            on = _pick(backend, setup, scenario, grounded, neutral)
            right_off.append(off == scenario.choice)
            right_on.append(on == scenario.choice)
    card.decisions = len(right_on)
    card.on.decision_accuracy = rounded(sum(right_on) / len(right_on))
    card.off.decision_accuracy = rounded(sum(right_off) / len(right_off))
    card.decisions_paired = _paired(mcnemar(right_on, right_off))


def _pick(backend, setup: EvaluationSetup, scenario, messages: list[dict], neutral: list[dict]) -> str:
    from doppel.inference.decisions import decide_from_scores, option_scores

    scoring = setup.twin.inference.decision_scoring
    scores = option_scores(backend, setup.prompter, messages, scenario.options, scoring=scoring, neutral=neutral)
    return decide_from_scores(scenario.options, scores, 0.0).choice


def fact_questions(setup: EvaluationSetup) -> list[tuple[str, str, str, str]]:
    """(record key, question, kind, expected) from held-out records: a deal's stage and amount, who an email
    went to (its counterpart), a note's tags. Up to ``evaluation.fact_questions`` of each kind."""
    from doppel.dataset.examples import split_of

    limit = setup.twin.evaluation.fact_questions
    questions: list[tuple[str, str, str, str]] = []
    per_kind: dict[str, int] = {}

    def ask(key: str, question: str, kind: str, expected: str) -> None:
        if expected and per_kind.get(kind, 0) < limit:
            per_kind[kind] = per_kind.get(kind, 0) + 1
            questions.append((key, question, kind, expected))

    for record in setup.records:
        if split_of(record.group, setup.data.val_fraction) != "val":
            continue
        fields = record.fields
        if record.source == "deals":
            name = str(fields.get("deal_name") or "").strip()
            if name:
                ask(record.key, f"What stage is the {name} deal in?", "stage", str(fields.get("deal_stage") or ""))
                if fields.get("deal_amount") is not None:
                    amount = f"{float(fields['deal_amount']):.0f}"
                    ask(record.key, f"How much is the {name} deal worth?", "amount", amount)
        elif record.source == "emails":
            subject, to = str(fields.get("subject") or "").strip(), str(fields.get("recipient") or "").strip()
            if subject and to:
                ask(record.key, f'Who did you send the email "{subject}" to?', "counterpart", to)
        elif record.source == "notes":
            title, tags = str(fields.get("title") or "").strip(), [str(t) for t in fields.get("tags") or [] if t]
            if title and tags:
                ask(record.key, f'Which tags did you put on your note "{title}"?', "tag", ", ".join(tags))
    return questions


def answered(reply: str, kind: str, expected: str) -> bool:
    """Exact match, forgiving only form: the stage as a word (any case), the amount's digits (48,000 or 48000),
    the counterpart by address, name or the address's name part, any one of a note's tags."""
    if kind == "amount":
        digits = re.sub(r"(?<=\d)[,\s.](?=\d{3}\b)", "", reply)
        return re.search(rf"(?<!\d){re.escape(expected)}(?!\d)", digits) is not None
    if kind == "counterpart":
        from doppel.sources.parties import parse_parties

        for party in parse_parties(expected):
            # Its address, the address's name part, or every word of the name ("Dana Lee", "Lee, Dana").
            spelled = [party.address, party.address.split("@")[0]] if party.address else []
            if any(_word_in(w, reply) for w in spelled if len(w) >= 3):
                return True
            if party.name and all(_word_in(w, reply) for w in party.name):
                return True
        return False
    if kind == "tag":
        return any(_word_in(tag.strip(), reply) for tag in expected.split(",") if tag.strip())
    return _word_in(expected, reply)


def _word_in(value: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(value.casefold())}(?!\w)", text.casefold()) is not None


def _facts(setup: EvaluationSetup, ground: _Grounding, card: Retrieval) -> None:
    from doppel.inference.messages import chat_messages

    questions = fact_questions(setup)
    if not questions:
        return
    plain = [chat_messages(setup.twin.persona, q) for _, q, _, _ in questions]
    grounded = [ground(m, exclude=[key], reply_tokens=FACT_TOKENS) for m, (key, *_) in zip(plain, questions)]
    off = _generate(setup, plain, FACT_TOKENS)
    on = _generate(setup, grounded, FACT_TOKENS)
    right_off = [answered(r, kind, want) for r, (_, _, kind, want) in zip(off, questions)]
    right_on = [answered(r, kind, want) for r, (_, _, kind, want) in zip(on, questions)]
    from doppel.evaluation.baselines import mcnemar

    card.facts = len(questions)
    card.fact_kinds = dict(Counter(kind for _, _, kind, _ in questions))
    card.on.fact_accuracy = rounded(sum(right_on) / len(right_on))
    card.off.fact_accuracy = rounded(sum(right_off) / len(right_off))
    card.facts_paired = _paired(mcnemar(right_on, right_off))


def _paired(test: dict) -> PairedTest:
    return PairedTest(
        twin_only=test["first_only"],
        base_only=test["second_only"],
        p_value=rounded(test["p_value"]),
        significant=test["significant"],
    )
