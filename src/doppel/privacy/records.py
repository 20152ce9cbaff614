"""Records → the same records with other people's data replaced by consistent fakes.

Everything that can reach a data set is rewritten: the person's words (targets), what they answered
(history), and the fields prompts are made of (subject, recipients, titles). The person's own name and
address, and ``privacy.keep``, stay. What was replaced is counted per source and kind, never recorded.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from doppel.config import Persona, PrivacyConfig
from doppel.privacy.detect import Detector, changed_token_share
from doppel.privacy.fakes import Fakes
from doppel.privacy.forget import Forgetting
from doppel.privacy.names import first_names, last_names
from doppel.sources.parties import party_names
from doppel.sources.records import Record, Turn

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W\d_]+")
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class PrivacyReport:
    """What privacy did to one run's records: counts only, safe to keep in a card or a manifest."""

    enabled: bool
    replaced: dict[str, Counter] = field(default_factory=dict)  # source -> kind -> values replaced
    tokens_changed: int = 0
    tokens_total: int = 0
    forget: dict = field(default_factory=dict)

    def count(self, source: str, kind: str) -> None:
        self.replaced.setdefault(source, Counter())[kind] += 1

    def to_dict(self) -> dict:
        per_kind: Counter = Counter()
        for counts in self.replaced.values():
            per_kind.update(counts)
        return {
            "enabled": self.enabled,
            # The fakes are drawn from faker's name lists: another faker release may give other fakes.
            "faker": _faker_version(),
            "replaced": {source: dict(sorted(c.items())) for source, c in sorted(self.replaced.items())},
            "replaced_per_kind": dict(sorted(per_kind.items())),
            "tokens_changed": self.tokens_changed,
            "tokens_total": self.tokens_total,
            # How much of the text changed: a detector that ate ordinary words would show here.
            "tokens_changed_share": round(self.tokens_changed / self.tokens_total, 5) if self.tokens_total else 0.0,
            "forget": self.forget,
        }


def _faker_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("faker")
    except PackageNotFoundError:
        return None


def _like_to_regex(pattern: str) -> re.Pattern:
    """persona.email_pattern is an SQL LIKE pattern; the same test in Python."""
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE)


def crm_names(records: Sequence[Record], persona: Persona) -> tuple[set[str], set[str]]:
    """(third parties' names, the person's own names and addresses), from who sent and received the records.

    A display name counts when it looks like a person's: two to four words of letters, or one word the
    shipped name lists know. Mailing lists ("All EES") mostly fail that test and stay as they are.
    """
    own_words = {w.lower() for w in _WORD.findall(persona.name)}
    is_own_address = _like_to_regex(persona.email_pattern).match
    known = first_names() | last_names()
    names: set[str] = set()
    own: set[str] = {persona.name, *(w for w in _WORD.findall(persona.name) if len(w) > 1)}
    for record in records:
        fields = [str(record.fields.get("recipient") or "")] if record.source == "emails" else []
        fields += [t.speaker for t in record.history if not t.is_person] if record.source == "emails" else []
        for address in _ADDRESS.findall(record.author or ""):
            own.add(address)  # the person's own address(es): their records' author
        for raw in fields:
            for address in _ADDRESS.findall(raw):
                if is_own_address(address):
                    own.add(address)
            for shown in party_names(raw):
                words = tuple(_WORD.findall(shown)) if "@" not in shown else ()
                if not words:
                    continue
                lowered = {w.lower() for w in words}
                if lowered <= own_words or not all(len(w) > 1 for w in words):
                    continue
                if 2 <= len(words) <= 4 or (len(words) == 1 and words[0].lower() in known):
                    names.add(" ".join(w.capitalize() if w.isupper() else w for w in words))
    return names, own


class Pseudonymiser:
    """Rewrites records with one detector and one key; remembers each text it did, so a turn repeated in many
    records' history is detected once (and counted once)."""

    def __init__(self, detector: Detector, fakes: Fakes, report: PrivacyReport):
        self.detector, self.fakes, self.report = detector, fakes, report
        self._done: dict[str, str] = {}

    def text(self, text: str, source: str) -> str:
        if not text:
            return text
        found = self._done.get(text)
        if found is not None:
            return found
        spans = self.detector.find(text)
        for span in spans:
            self.report.count(source, span.kind)
        changed, total = changed_token_share(text, spans)
        self.report.tokens_changed += changed
        self.report.tokens_total += total
        result = self.fakes.rewrite(text, spans) if spans else text
        self._done[text] = result
        return result

    def record(self, record: Record) -> Record:
        source = record.source
        fields = {key: self._value(value, source) for key, value in record.fields.items()}
        history = tuple(
            Turn(speaker=self.text(t.speaker, source), text=self.text(t.text, source), is_person=t.is_person)
            for t in record.history
        )
        return dataclasses.replace(record, text=self.text(record.text, source), fields=fields, history=history)

    def _value(self, value, source: str):
        if isinstance(value, str):
            return self.text(value, source)
        if isinstance(value, dict):
            return {k: self._value(v, source) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v, source) for v in value]
        return value


def build_pseudonymiser(
    records: Sequence[Record], persona: Persona, privacy: PrivacyConfig, key: bytes, report: PrivacyReport
) -> Pseudonymiser:
    """A pseudonymiser for one twin's records: their senders and recipients are the names it looks for."""
    names, own = crm_names(records, persona) if privacy.names_from_crm else (set(), {persona.name})
    detector = Detector(names=names, keep=privacy.keep, own_names=own, kinds=privacy.kinds)
    return Pseudonymiser(detector, Fakes(key, keep=privacy.keep), report)


@dataclass
class Protected:
    """A run's records after privacy: ``records`` to build examples from, ``raw`` the same records before
    pseudonymisation (forgotten ones already gone), and the pseudonymiser (None with privacy off)."""

    records: list[Record]
    raw: list[Record]
    report: PrivacyReport
    pseudonymiser: Pseudonymiser | None = None


def protect_records(
    records: Sequence[Record],
    persona: Persona,
    privacy: PrivacyConfig,
    key: bytes | None,
    forgetting: Forgetting | None = None,
) -> Protected:
    """Leave out what was asked to be forgotten, then (when privacy is on) pseudonymise the rest.

    Forget requests are matched against the real values, before anything is replaced, and always apply:
    turning privacy off does not bring forgotten records back.
    """
    kept = forgetting.keep(records) if forgetting is not None else list(records)
    report = PrivacyReport(enabled=privacy.enabled, forget=forgetting.summary() if forgetting is not None else {})
    if not privacy.enabled:
        return Protected(kept, kept, report)
    if key is None:
        raise ValueError("privacy is on but no key was given")
    pseudonymiser = build_pseudonymiser(kept, persona, privacy, key, report)
    protected = [pseudonymiser.record(r) for r in kept]
    log.info(
        "privacy: %d values replaced in %d records (%.2f%% of tokens)",
        sum(sum(c.values()) for c in report.replaced.values()),
        len(protected),
        100 * report.tokens_changed / max(1, report.tokens_total),
    )
    return Protected(protected, kept, report, pseudonymiser)
