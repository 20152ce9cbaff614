"""Mailboxes (mbox, Gmail Takeout, maildir, a folder of .eml files) → email messages, one at a time.

Everything is read through the standard library: ``mailbox`` walks the container, ``email`` with the
default policy decodes headers and MIME parts (charsets, quoted-printable, base64). A message is kept
with the headers that thread it (Message-ID, In-Reply-To, References) so replies find what they answer.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

from doppel.importers.html_text import html_to_text

MAIL_FORMATS = ("mbox", "maildir", "eml")


class ImportProblem(ValueError):
    """The input cannot be imported as asked; the message names the file and where in it."""


class SkipMessage(ValueError):
    """One message cannot be read; it is skipped and counted under this reason."""


@dataclass(frozen=True)
class RawMessage:
    """One message's bytes and where it came from (for messages, errors and the Sent-folder guess)."""

    where: str  # file, and the message's offset or key inside it
    folder: str  # the mailbox folder ("Sent Items", "INBOX"), or "" when the format has none
    data: bytes


@dataclass(frozen=True)
class MailMessage:
    message_id: str
    subject: str
    body: str
    sent_at: datetime
    sender: str  # as written: "Ann Smith <ann@x.com>"
    sender_address: str  # lower case
    recipients: str  # To and Cc, as written
    in_reply_to: str | None  # the parent's Message-ID
    thread_id: str | None  # the thread's first Message-ID (References' first, else the parent); None: no headers
    attachments: int

    @property
    def row_id(self) -> int:
        return row_id(self.message_id)


def row_id(message_id: str) -> int:
    """A stable BIGINT for a Message-ID: importing the same message twice gives the same row."""
    return int.from_bytes(hashlib.sha256(message_id.encode()).digest()[:8], "big") >> 1


# --- containers --------------------------------------------------------------------------------------


def iter_raw(fmt: str, path: Path) -> Iterator[RawMessage]:
    if fmt == "mbox":
        yield from _mbox(path)
    elif fmt == "maildir":
        yield from _maildir(path)
    elif fmt == "eml":
        yield from _eml(path)
    else:
        raise ImportProblem(f"unknown mail format {fmt!r}; choose one of {', '.join(MAIL_FORMATS)}")


def _mbox(path: Path) -> Iterator[RawMessage]:
    files = sorted(p for p in path.rglob("*.mbox") if p.is_file()) if path.is_dir() else [path]
    if not files:
        raise ImportProblem(f"{path}: no .mbox files in this folder")
    for file in files:
        check_mbox(file)
        box = mailbox.mbox(file, create=False)
        try:
            for key in box.iterkeys():
                start = box._toc[key][0]  # noqa: SLF001 - the byte offset, for messages that name where
                data = box.get_bytes(key)
                yield RawMessage(f"{file} (byte {start})", _gmail_folder(data), data)
        finally:
            box.close()


def check_mbox(file: Path) -> None:
    """An mbox starts with a "From " line; anything else (a zip, a PDF, a JSON export) is the wrong format."""
    if not file.is_file():
        raise ImportProblem(f"{file}: no such file")
    with file.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                if not line.startswith(b"From "):
                    raise ImportProblem(
                        f"{file}: line {number} is not an mbox 'From ' line: this is not an mbox file "
                        "(a Gmail Takeout has one .mbox per label; a folder of messages is --format maildir or eml)"
                    )
                return
    raise ImportProblem(f"{file}: the file is empty")


def _gmail_folder(data: bytes) -> str:
    """Gmail Takeout writes each message's labels in X-Gmail-Labels; "Sent" marks the person's own."""
    head = data[:8192]
    at = head.find(b"X-Gmail-Labels:")
    if at < 0:
        return ""
    labels = head[at + len(b"X-Gmail-Labels:") :].split(b"\n", 1)[0].decode("utf-8", "replace")
    return "Sent" if "sent" in labels.lower() else labels.strip()


def _maildir(path: Path) -> Iterator[RawMessage]:
    """A Maildir (cur/ and new/) or a tree of one-message files, as the Enron corpus is laid out."""
    if not path.is_dir():
        raise ImportProblem(f"{path}: a maildir is a folder")
    found = False
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "tmp")
        here = Path(folder)
        label = here.parent.name if here.name in ("cur", "new") else here.name
        for name in sorted(files):
            if name.startswith("."):
                continue
            found = True
            file = here / name
            yield RawMessage(str(file), label if here != path else "", file.read_bytes())
    if not found:
        raise ImportProblem(f"{path}: no message files in this folder")


def _eml(path: Path) -> Iterator[RawMessage]:
    files = sorted(path.rglob("*.eml")) if path.is_dir() else [path]
    if not files:
        raise ImportProblem(f"{path}: no .eml files in this folder")
    for file in files:
        yield RawMessage(
            str(file), file.parent.name if path.is_dir() and file.parent != path else "", file.read_bytes()
        )


# --- messages ----------------------------------------------------------------------------------------


def sender_of(raw: RawMessage) -> tuple[str, str]:
    """(display name, address) from the headers alone: what the person guess reads, cheaply."""
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw.data)
    name, address = email.utils.parseaddr(str(headers.get("From", "")))
    return name, address.lower()


def parse(raw: RawMessage) -> MailMessage:
    """One message, decoded; SkipMessage says why one cannot be."""
    try:
        msg = email.message_from_bytes(raw.data, policy=email.policy.default)
    except Exception as exc:  # the parser raises assorted errors on mangled input
        raise SkipMessage("unparseable") from exc
    if not isinstance(msg, EmailMessage) or not msg.keys():
        raise SkipMessage("no headers")
    try:
        sender = str(msg.get("From", "") or "")
        subject = str(msg.get("Subject", "") or "")
        recipients = ", ".join(str(v) for v in (msg.get_all("To") or []) + (msg.get_all("Cc") or []))
        date = msg.get("Date")
    except Exception as exc:
        raise SkipMessage("undecodable header") from exc
    sent_at = _date(date)
    body, attachments = _body(msg)
    message_id = _first_id(str(msg.get("Message-ID", "") or ""))
    if message_id is None:
        # No Message-ID: one made from the bytes, so the same message imported again is the same row.
        message_id = f"<doppel-{hashlib.sha256(raw.data).hexdigest()[:32]}@import>"
    references = _ids(str(msg.get("References", "") or ""))
    parent = _first_id(str(msg.get("In-Reply-To", "") or "")) or (references[-1] if references else None)
    # A message that answers nothing starts no thread yet: NULL lets the source thread it by subject, and
    # it gets its own id as thread once a reply names it (see importers.import_mail).
    thread = references[0] if references else parent
    return MailMessage(
        message_id=message_id,
        subject=" ".join(subject.replace("\x00", "").split()),
        # PostgreSQL text cannot hold NUL; a stray one must not cost the message.
        body=body.replace("\x00", ""),
        sent_at=sent_at,
        sender=sender.replace("\x00", ""),
        sender_address=email.utils.parseaddr(sender)[1].lower(),
        recipients=recipients.replace("\x00", ""),
        in_reply_to=parent,
        thread_id=thread,
        attachments=attachments,
    )


def _date(value) -> datetime:
    if not value:
        raise SkipMessage("no date")
    try:
        stamp = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError) as exc:
        raise SkipMessage("unreadable date") from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _body(msg: EmailMessage) -> tuple[str, int]:
    """The text part (else the HTML part as text), and how many attachments were skipped."""
    attachments = sum(1 for _ in msg.iter_attachments()) if msg.is_multipart() else 0
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", attachments
    try:
        content = part.get_content()
    except LookupError as exc:  # a charset Python does not know
        raise SkipMessage("unknown charset") from exc
    except Exception as exc:
        raise SkipMessage("undecodable body") from exc
    if not isinstance(content, str):
        return "", attachments
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").strip(), attachments


def _ids(value: str) -> list[str]:
    return [f"<{v.strip('<>')}>" for v in value.replace(",", " ").split() if "@" in v or v.startswith("<")]


def _first_id(value: str) -> str | None:
    found = _ids(value)
    return found[0] if found else None
