"""Cleaning text before it becomes an example.

Emails carry other people's words inside the person's own: quoted replies,
forwarded blocks, and signature boilerplate. Those must never become training
targets, so they are cut here. The person's greeting and sign-off stay: they
are habits the twin should learn.
"""

from __future__ import annotations

import re

# A line that starts other people's text; everything from it on is dropped.
_CUT_LINE = re.compile(
    r"""^\s*(
        -{2,}\s*original\s+(message|appointment)\s*-{2,}   # Outlook / Lotus
      | -{2,}\s*forwarded\s+(message|by)\b.*                 # Gmail / Lotus forwards
      | begin\s+forwarded\s+message:                         # Apple Mail
      | _{10,}                                               # Outlook's rule above a quoted header
      | -{2}\s?                                              # the '-- ' signature delimiter (RFC 3676)
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# "On Tue, 3 Mar 2026 at 10:00, Dana <dana@x.com> wrote:" (may wrap onto the next line).
_ON_WROTE_START = re.compile(r"^\s*(on|le|am)\s+.{4,}", re.IGNORECASE)
_WROTE_END = re.compile(r"(wrote|écrit|schrieb)\s*:\s*$", re.IGNORECASE)
# An Outlook-style header block: "From: ..." followed shortly by "Sent:" / "Date:" / "To:".
_HEADER_FROM = re.compile(r"^\s*from:\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*(sent|date|to|subject|cc):", re.IGNORECASE)
_MOBILE_FOOTER = re.compile(r"^\s*(sent from my \w+.*|get outlook for \w+.*)$", re.IGNORECASE)


def normalize_whitespace(text: str) -> str:
    """Unify newlines, strip each line, and keep at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _quote_starts_at(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _CUT_LINE.match(line):
        return True
    if _ON_WROTE_START.match(line):
        window = " ".join(lines[i : i + 3])
        if _WROTE_END.search(lines[i]) or any(_WROTE_END.search(part) for part in lines[i + 1 : i + 3]):
            return len(window) < 400
    if _HEADER_FROM.match(line):
        return any(_HEADER_NEXT.match(nxt) for nxt in lines[i + 1 : i + 4])
    return False


def clean_email_body(body: str) -> str:
    """The author's own part of an email body: quotes, forwards and signatures removed."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _quote_starts_at(lines, i):
            break
        if line.lstrip().startswith(">") or _MOBILE_FOOTER.match(line):
            continue
        kept.append(line)
    return normalize_whitespace("\n".join(kept))


def clean_text(text: str) -> str:
    """Any non-email text: whitespace only."""
    return normalize_whitespace(text)
