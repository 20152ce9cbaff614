"""Feedback on the twin's replies: ratings and corrections, stored in ``doppel.feedback``.

Every face that answers as the twin (the web page, ``doppel chat -i``,
``/api/chat``, ``/v1``) can send feedback on one reply: a rating (thumbs are
10 and 1, or a 1-10 score) and/or an edit into what the person would have
said. An edit becomes a preference pair (chosen = the edit, rejected = the
twin's reply) for ``doppel train --preference``. An edit counts as the
person's own words (``as_person``) only when the person or an admin says so:
that flag needs the admin token.

Only the prompt, the reply and the edit are stored here, inside doppel's own
schema; nothing of them is logged above debug level.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from doppel.db import SCHEMA, Database

log = logging.getLogger(__name__)

THUMBS = {"up": 10, "down": 1}
MAX_TEXT = 20_000  # characters of one reply or edit


class FeedbackError(ValueError):
    """Feedback that cannot be stored; ``field`` names the request field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Feedback:
    id: int
    twin: str
    version: str | None
    messages: list[dict]
    reply: str
    rating: int | None
    edited: str | None
    as_person: bool
    reviewer: str
    source: str
    learned_in: str | None
    created_at: datetime

    @property
    def is_pair(self) -> bool:
        """An edit that differs from the reply: something to prefer over the twin's words."""
        return bool(self.edited and self.edited.strip() and self.edited.strip() != self.reply.strip())


_COLUMNS = ", ".join(Feedback.__dataclass_fields__)


def record_feedback(
    db: Database,
    twin: str,
    *,
    messages: list[dict],
    reply: str,
    reviewer: str,
    version: str | None = None,
    rating: int | str | None = None,
    edited: str | None = None,
    as_person: bool = False,
    source: str = "api",
) -> Feedback:
    """Store one piece of feedback; FeedbackError naming the field when it makes no sense."""
    if isinstance(rating, str):
        if rating not in THUMBS:
            raise FeedbackError("rating: 'up', 'down' or a whole number 1-10", "rating")
        rating = THUMBS[rating]
    if rating is not None and not 1 <= int(rating) <= 10:
        raise FeedbackError("rating: 'up', 'down' or a whole number 1-10", "rating")
    if rating is None and not (edited and edited.strip()):
        raise FeedbackError("give a rating, an edit, or both", "rating")
    if not reply.strip():
        raise FeedbackError("reply: the twin's reply the feedback is about", "reply")
    if not messages or messages[-1].get("role") != "user" or not str(messages[-1].get("content", "")).strip():
        raise FeedbackError("messages: the conversation the reply answered, ending with the user's turn", "messages")
    for name, text in (("reply", reply), ("edited", edited or "")):
        if len(text) > MAX_TEXT:
            raise FeedbackError(f"{name}: at most {MAX_TEXT} characters", name)
    if as_person and not (edited and edited.strip()):
        raise FeedbackError("as_person marks an edit as the person's words: give `edited`", "as_person")
    if not reviewer.strip():
        raise FeedbackError("reviewer: who gives the feedback", "reviewer")
    clean = [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
    with db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"INSERT INTO {SCHEMA}.feedback (twin, version, messages, reply, rating, edited, as_person, reviewer, "
            f"source) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (twin, version, Jsonb(clean), reply, rating, edited, as_person, reviewer.strip(), source),
        )
        row = cur.fetchone()
    log.info("feedback %s on %s %s from %s (%s)", row["id"], twin, version, source, "edit" if edited else "rating")
    return Feedback(**row)


def list_feedback(db: Database, twin: str, *, pending_only: bool = False, limit: int = 10_000) -> list[Feedback]:
    """The twin's feedback, oldest first; ``pending_only``: not yet learned by any version."""
    where = "twin = %s" + (" AND learned_in IS NULL" if pending_only else "")
    with db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM {SCHEMA}.feedback WHERE {where} ORDER BY id LIMIT %s", (twin, limit))
        return [Feedback(**row) for row in cur.fetchall()]


def mark_learned(db: Database, ids: list[int], version: str) -> None:
    """These pieces of feedback were learned by ``version`` (they stop counting as waiting)."""
    if not ids:
        return
    with db.connection() as conn:
        conn.execute(f"UPDATE {SCHEMA}.feedback SET learned_in = %s WHERE id = ANY(%s)", (version, ids))


def summary(db: Database, twin: str) -> dict:
    """Counts for the faces: ratings, edits, pairs waiting to be learned, mean rating."""
    with db.connection() as conn:
        row = conn.execute(
            f"SELECT count(*), count(rating), avg(rating), "
            f"count(*) FILTER (WHERE edited IS NOT NULL AND btrim(edited) <> btrim(reply)), "
            f"count(*) FILTER (WHERE edited IS NOT NULL AND btrim(edited) <> btrim(reply) AND learned_in IS NULL) "
            f"FROM {SCHEMA}.feedback WHERE twin = %s",
            (twin,),
        ).fetchone()
        reviews = conn.execute(
            f"SELECT count(*) FROM {SCHEMA}.reviews WHERE twin = %s AND picked = 'real'", (twin,)
        ).fetchone()[0]
    total, ratings, mean, edits, waiting = row
    return {
        "feedback": total,
        "ratings": ratings,
        "mean_rating": round(float(mean), 2) if mean is not None else None,
        "edits": edits,
        "edits_waiting": waiting,
        # Blind reviews that picked the real reply: each is a pair (real over twin) every preference run uses.
        "review_pairs": reviews,
    }
