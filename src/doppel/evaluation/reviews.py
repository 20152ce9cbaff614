"""Blind human review: which of two replies did the person write?

An evaluation keeps its held-out pairs (the prompt, the person's real reply,
the twin's reply) in ``<version>/evaluation/pairs.json``. A reviewer is shown
the two replies as "1" and "2"; which one is real is decided by a keyed hash
of (pair, reviewer) with a salt that never leaves the server, so the page and
the API response carry no hint, yet the answer can be scored without keeping
per-request state. Reviews live in ``doppel.reviews``, one per reviewer and
pair (answering again replaces the earlier answer).

The scorecard's human numbers: the share of reviews where the reviewer could
not tell (picked the twin's reply or said "can't tell"), and the mean 1-10
score given to the twin's reply.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import statistics
from pathlib import Path
from typing import Literal

from doppel.atomic import atomic_write_json
from doppel.db import SCHEMA, Database
from doppel.evaluation.style import sample_fields

PAIRS_FILE = "pairs.json"
Picked = Literal["1", "2", "cant_tell"]


class ReviewError(ValueError):
    """A review request that cannot be served; ``field`` names the request field, ``status`` the HTTP code."""

    def __init__(self, message: str, field: str | None = None, status: int = 422):
        super().__init__(message)
        self.field = field
        self.status = status


def save_pairs(folder: Path, pairs: list[dict]) -> Path:
    """Write the pairs; an existing salt is kept so reviews in progress keep their order."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PAIRS_FILE
    salt = load_pairs(folder)["salt"] if path.is_file() else secrets.token_hex(16)
    return atomic_write_json(path, {"salt": salt, "pairs": pairs}, indent=2)


def load_pairs(folder: Path) -> dict:
    path = folder / PAIRS_FILE
    if not path.is_file():
        raise ReviewError(
            "this version has not been evaluated yet: run `doppel eval` or POST /api/evaluate first",
            "version",
            status=404,
        )
    return json.loads(path.read_text())


def real_is_first(salt: str, pair_id: str, reviewer: str) -> bool:
    digest = hmac.new(salt.encode(), f"{pair_id}\0{reviewer}".encode(), hashlib.sha256).digest()
    return digest[0] % 2 == 0


def _reviewed(db: Database, twin: str, version: str, reviewer: str | None = None) -> list[tuple]:
    query = f"SELECT pair_id, reviewer, picked, score FROM {SCHEMA}.reviews WHERE twin = %s AND version = %s"
    params: list = [twin, version]
    if reviewer is not None:
        query += " AND reviewer = %s"
        params.append(reviewer)
    with db.connection() as conn:
        return conn.execute(query + " ORDER BY id", params).fetchall()


def _check_reviewer(reviewer: str) -> str:
    reviewer = (reviewer or "").strip()
    if not reviewer or len(reviewer) > 200:
        raise ReviewError("reviewer must be a name of 1 to 200 characters", "reviewer")
    return reviewer


def next_pair(db: Database, folder: Path, twin: str, version: str, reviewer: str) -> dict:
    """The next pair this reviewer has not judged, in an order of their own; ``done`` when none is left."""
    reviewer = _check_reviewer(reviewer)
    data = load_pairs(folder)
    pairs = data["pairs"]
    seen = {row[0] for row in _reviewed(db, twin, version, reviewer)}
    left = [p for p in pairs if p["pair_id"] not in seen]
    base = {"twin": twin, "version": version, "remaining": len(left), "total": len(pairs)}
    if not left:
        return {"done": True, **base}
    # Each reviewer walks the pairs in their own fixed order, so two reviewers do not see the same first pairs.
    pair = min(left, key=lambda p: _rank(data["salt"], reviewer, p))
    real_first = real_is_first(data["salt"], pair["pair_id"], reviewer)
    first, second = (pair["real"], pair["twin"]) if real_first else (pair["twin"], pair["real"])
    return {
        "done": False,
        "pair_id": pair["pair_id"],
        "prompt": pair["prompt"],
        "context": pair.get("context") or {},
        "replies": [{"label": "1", "text": first}, {"label": "2", "text": second}],
        **base,
    }


def _rank(salt: str, reviewer: str, pair: dict) -> bytes:
    return hmac.new(salt.encode(), f"order\0{reviewer}\0{pair['pair_id']}".encode(), hashlib.sha256).digest()


def submit_review(
    db: Database, folder: Path, twin: str, version: str, *, pair_id: str, reviewer: str, picked: str, score: int
) -> dict:
    """Record one answer ("1", "2" or "cant_tell") and the twin's score.

    Returns the verdict (real / twin / cant_tell), which label was the real reply (shown after the answer,
    never before) and the version's human numbers as they stand now.
    """
    reviewer = _check_reviewer(reviewer)
    if picked not in ("1", "2", "cant_tell"):
        raise ReviewError("picked must be '1', '2' or 'cant_tell'", "picked")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 10:
        raise ReviewError("score must be a whole number from 1 to 10", "score")
    data = load_pairs(folder)
    if not any(p["pair_id"] == pair_id for p in data["pairs"]):
        raise ReviewError(f"no pair {pair_id!r} in {twin} {version}", "pair_id", status=404)
    real_label = "1" if real_is_first(data["salt"], pair_id, reviewer) else "2"
    verdict = "cant_tell" if picked == "cant_tell" else ("real" if picked == real_label else "twin")
    with db.connection() as conn:
        conn.execute(
            f"INSERT INTO {SCHEMA}.reviews (twin, version, pair_id, reviewer, picked, score) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (twin, version, pair_id, reviewer) "
            "DO UPDATE SET picked = EXCLUDED.picked, score = EXCLUDED.score, created_at = now()",
            (twin, version, pair_id, reviewer, verdict, score),
        )
    return {"verdict": verdict, "real": real_label, "human": human_summary(db, twin, version, len(data["pairs"]))}


def human_summary(db: Database, twin: str, version: str, total_pairs: int) -> dict:
    rows = _reviewed(db, twin, version)
    fooled = sum(1 for _, _, picked, _ in rows if picked in ("twin", "cant_tell"))
    return {
        "reviews": len(rows),
        "pairs": total_pairs,
        "reviewed_pairs": len({r[0] for r in rows}),
        "reviewers": len({r[1] for r in rows}),
        "share_fooled": fooled / len(rows) if rows else None,
        "mean_score": statistics.fmean(r[3] for r in rows) if rows else None,
        **sample_fields(len(rows)),
    }
