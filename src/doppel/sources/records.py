"""The values the sources hand to the data set: one ``Record`` per thing the person wrote."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Turn:
    """One earlier message the person's text answered (someone else's, or the person's own)."""

    speaker: str
    text: str
    is_person: bool = False


@dataclass(frozen=True)
class Record:
    """Something the person wrote, with what it answered.

    ``text`` is always the person's own words: the only thing that may become
    a training target. Everything other people wrote travels in ``history``
    and ``fields`` and only ever reaches a prompt.
    """

    source: str  # emails | conversations | deals | notes
    source_id: str  # primary key in its table, as text
    timestamp: datetime | None
    author: str
    text: str
    # Records sharing a group land on the same side of the train/val split
    # (a conversation's turns, for instance), so no answer leaks across it.
    group: str
    fields: dict[str, Any] = field(default_factory=dict)
    history: tuple[Turn, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.source}:{self.source_id}"
