"""Importers: a person's own mailbox, written into the seed's tables in doppel's database.

``doppel import mbox|maildir|eml PATH`` reads the export twice: once for the senders' headers only (who
the person is, printed before anything is written), then to decode and write every message in one
transaction. The rest of doppel reads the tables as it reads any CRM's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from doppel.db import Database
from doppel.importers.chats import CHAT_FORMATS, ChatMessage, exporter, iter_chat
from doppel.importers.mail import MAIL_FORMATS, ImportProblem, SkipMessage, iter_raw, parse, row_id, sender_of
from doppel.sources.tables import IMPORT_DDL, SEED_DDL

FORMATS = MAIL_FORMATS + CHAT_FORMATS
BATCH = 500

Progress = Callable[[str, int, int], None]

__all__ = [
    "CHAT_FORMATS",
    "FORMATS",
    "MAIL_FORMATS",
    "ImportProblem",
    "ImportReport",
    "Person",
    "find_chat_person",
    "find_person",
    "import_chats",
    "import_mail",
]


@dataclass
class Person:
    """Who the person is in this export: addresses and display names, and how many messages they sent."""

    addresses: set[str]
    names: set[str]
    messages: int = 0
    guessed: bool = False
    how: str = ""

    def sent(self, name: str, address: str) -> bool:
        return address.lower() in self.addresses or (bool(name) and name.casefold() in self.names)

    def describe(self) -> str:
        who = ", ".join(sorted(self.addresses | self.names)) or "nobody"
        return f"{who} ({self.messages} messages{'; guessed ' + self.how if self.guessed else ''})"


@dataclass
class ImportReport:
    format: str
    path: str
    person: Person
    read: int = 0
    written: int = 0
    already_there: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> messages
    attachments: int = 0
    replies_linked: int = 0
    person_written: int = 0
    conversations: int = 0  # chats: conversations written (new ones)

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "path": self.path,
            "person": {
                "addresses": sorted(self.person.addresses),
                "names": sorted(self.person.names),
                "messages": self.person.messages,
                "guessed": self.person.guessed,
            },
            "read": self.read,
            "written": self.written,
            "already_there": self.already_there,
            "skipped": dict(self.skipped),
            "attachments_skipped": self.attachments,
            "replies_linked": self.replies_linked,
            "conversations": self.conversations,
        }


def find_person(fmt: str, path: Path, me: Sequence[str] = (), progress: Progress | None = None) -> Person:
    """The person from ``me`` (addresses or display names), else the most frequent sender of the Sent folder
    (or of the whole export when it has none). Reads headers only; a wrong format fails here, before any write."""
    report = progress or (lambda stage, done, total: None)
    senders: Counter = Counter()
    sent: Counter = Counter()
    names: dict[str, Counter] = {}
    given = Person(
        addresses={m.strip().lower() for m in me if "@" in m},
        names={m.strip().casefold() for m in me if "@" not in m and m.strip()},
    )
    total = 0
    for raw in iter_raw(fmt, path):
        total += 1
        try:
            name, address = sender_of(raw)
        except Exception:  # a mangled header block: the write pass skips and counts this message
            continue
        if me:
            given.messages += given.sent(name, address)
        if address:
            senders[address] += 1
            names.setdefault(address, Counter())[name] += bool(name)
            if "sent" in raw.folder.lower():
                sent[address] += 1
        if total % 1000 == 0:
            report("reading headers", total, 0)
    report("reading headers", total, total)
    if me:
        return given
    pool, how = (sent, "from the Sent folder") if sent else (senders, "as the most frequent sender")
    if not pool:
        raise ImportProblem(f"{path}: no message with a sender; give the person with --me")
    address, count = pool.most_common(1)[0]
    display = {n.casefold() for n, _ in names.get(address, Counter()).most_common(1) if n}
    return Person({address}, display, messages=senders[address], guessed=True, how=how)


def import_mail(db: Database, fmt: str, path: Path, person: Person, progress: Progress | None = None) -> ImportReport:
    """Decode every message and write it, in one transaction: an import that fails writes nothing."""
    report = progress or (lambda stage, done, total: None)
    result = ImportReport(format=fmt, path=str(path), person=person)
    with db.crm.connection() as conn:
        conn.execute(SEED_DDL)
        conn.execute(IMPORT_DDL)
        before = conn.execute("SELECT count(*) FROM crm_emails").fetchone()[0]
        batch: list[tuple] = []
        with conn.cursor() as cur:
            for raw in iter_raw(fmt, path):
                result.read += 1
                try:
                    msg = parse(raw)
                except SkipMessage as exc:
                    result.skipped[str(exc)] += 1
                    continue
                result.attachments += msg.attachments
                result.person_written += person.sent(*_name_and_address(msg))
                batch.append(
                    (
                        msg.row_id,
                        msg.subject,
                        msg.body,
                        msg.sent_at,
                        msg.sender,
                        msg.recipients or None,
                        msg.message_id,
                        msg.in_reply_to,
                        msg.thread_id,
                    )
                )
                if len(batch) >= BATCH:
                    _write(cur, batch)
                    batch.clear()
                    report("writing", result.read, 0)
            if batch:
                _write(cur, batch)
        after = conn.execute("SELECT count(*) FROM crm_emails").fetchone()[0]
        result.written = after - before
        result.already_there = result.read - sum(result.skipped.values()) - result.written
        # A reply whose parent is now in the table (from this import or an earlier one) points at it.
        result.replies_linked = conn.execute(
            "UPDATE crm_emails c SET in_reply_to = p.id FROM crm_emails p "
            "WHERE c.in_reply_to IS NULL AND c.in_reply_to_message_id = p.message_id AND p.id <> c.id"
        ).rowcount
        # A message its replies name as their thread is that thread's first message.
        conn.execute(
            "UPDATE crm_emails r SET thread_id = r.message_id WHERE r.thread_id IS NULL AND r.message_id IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM crm_emails c WHERE c.thread_id = r.message_id)"
        )
    report("writing", result.read, result.read)
    return result


def _name_and_address(msg) -> tuple[str, str]:
    import email.utils

    name, address = email.utils.parseaddr(msg.sender)
    return name, address.lower()


def _write(cur, rows: list[tuple]) -> None:
    cur.executemany(
        "INSERT INTO crm_emails (id, subject, body, sent_at, sender_email, recipient_email, message_id, "
        "in_reply_to_message_id, thread_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        rows,
    )


# --- chats -------------------------------------------------------------------------------------------


def find_chat_person(fmt: str, path: Path, me: Sequence[str] = (), mapping: dict[str, str] | None = None) -> Person:
    """The person from ``me`` (display names), else the exporting account (Telegram), else whoever wrote
    most: an exporter is in every chat they export."""
    senders: Counter = Counter(m.sender for m in iter_chat(fmt, path, mapping))
    if me:
        person = Person(set(), {m.strip().casefold() for m in me if m.strip()})
        person.messages = sum(n for s, n in senders.items() if s.casefold() in person.names)
        return person
    account = exporter(fmt, path)
    if account is not None:
        names = {n.casefold() for n in account.names}
        count = sum(n for s, n in senders.items() if s.casefold() in names)
        return Person(set(), names, messages=count, guessed=True, how="as the exporting account")
    if not senders:
        raise ImportProblem(f"{path}: no messages in this export")
    name, count = senders.most_common(1)[0]
    return Person(set(), {name.casefold()}, messages=count, guessed=True, how="as the most frequent sender")


def import_chats(
    db: Database,
    fmt: str,
    path: Path,
    person: Person,
    *,
    user_id: str,
    person_role: str = "user",
    gap_hours: float = 24.0,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Chats become conversations (one per chat and per gap of ``gap_hours`` without a message) owned by
    ``user_id``; the person's messages take ``person_role``, everyone else's ``assistant``. One transaction."""
    report = progress or (lambda stage, done, total: None)
    result = ImportReport(format=fmt, path=str(path), person=person)
    by_chat: dict[str, list[ChatMessage]] = {}
    for message in iter_chat(fmt, path, mapping):  # a bad file fails here, before any write
        by_chat.setdefault(message.chat, []).append(message)
        result.read += 1
    conversations: list[tuple] = []
    messages: list[tuple] = []
    for chat, items in by_chat.items():
        items.sort(key=lambda m: m.at)
        segment: list[ChatMessage] = []
        for item in items:
            if segment and (item.at - segment[-1].at).total_seconds() > gap_hours * 3600:
                _segment(fmt, chat, segment, person, user_id, person_role, conversations, messages)
                segment = []
            segment.append(item)
        if segment:
            _segment(fmt, chat, segment, person, user_id, person_role, conversations, messages)
    result.person_written = sum(1 for m in messages if m[2] == person_role)
    with db.crm.connection() as conn:
        conn.execute(SEED_DDL)
        before = conn.execute("SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)").fetchone()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO conversations (id, user_id, metadata, created_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                conversations,
            )
            for start in range(0, len(messages), BATCH):
                cur.executemany(
                    "INSERT INTO messages (id, conversation_id, role, content, created_at) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                    messages[start : start + BATCH],
                )
                report("writing", start + len(messages[start : start + BATCH]), len(messages))
        after = conn.execute("SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)").fetchone()
    result.conversations = after[0] - before[0]
    result.written = after[1] - before[1]
    result.already_there = len(messages) - result.written
    return result


def _segment(fmt, chat, segment, person, user_id, person_role, conversations, messages) -> None:
    from psycopg.types.json import Jsonb

    conversation = row_id(f"{fmt}|{chat}|{segment[0].key(fmt)}")
    participants = sorted({m.sender for m in segment})
    conversations.append(
        (conversation, user_id, Jsonb({"source": fmt, "chat": chat, "participants": participants}), segment[0].at)
    )
    for m in segment:
        role = person_role if person.sent(m.sender, "") else "assistant"
        messages.append((row_id(m.key(fmt)), conversation, role, m.text.replace("\x00", ""), m.at))


# --- one call for every face -------------------------------------------------------------------------


def run_import(
    db: Database,
    twin,  # doppel.config.TwinConfig
    fmt: str,
    path: Path,
    *,
    me: Sequence[str] = (),
    gap_hours: float = 24.0,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
    on_person: Callable[[Person], None] | None = None,
) -> ImportReport:
    """Find the person, say who (``on_person``, before anything is written), then import; a .zip export
    (Slack's, a zipped maildir) is unpacked to a temporary folder first. The CLI and the API call this."""
    import tempfile

    if fmt not in FORMATS:
        raise ImportProblem(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    with tempfile.TemporaryDirectory(prefix="doppel-import-") as scratch:
        source = _unpacked(path, Path(scratch))
        if fmt in MAIL_FORMATS:
            person = find_person(fmt, source, me, progress)
        else:
            person = find_chat_person(fmt, source, me, mapping)
        if on_person is not None:
            on_person(person)
        if fmt in MAIL_FORMATS:
            return import_mail(db, fmt, source, person, progress)
        return import_chats(
            db,
            fmt,
            source,
            person,
            user_id=twin.persona.user_id,
            person_role=twin.sources.conversations.person_role,
            gap_hours=gap_hours,
            mapping=mapping,
            progress=progress,
        )


# An unzipped export may be this many times its zip, at most: more is a zip bomb, not an export.
MAX_UNZIP_RATIO = 200


def _unpacked(path: Path, scratch: Path) -> Path:
    import zipfile

    if not (path.is_file() and zipfile.is_zipfile(path)):
        return path
    with zipfile.ZipFile(path) as archive:
        try:
            total = sum(i.file_size for i in archive.infolist())
            if total > MAX_UNZIP_RATIO * max(path.stat().st_size, 1):
                raise ImportProblem(f"{path}: unpacks to {total} bytes, too large for its size (a zip bomb?)")
            archive.extractall(scratch)  # Python drops absolute paths and ".." from member names
        except zipfile.BadZipFile as exc:
            raise ImportProblem(f"{path}: a damaged zip file ({exc})") from None
    entries = [p for p in scratch.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    # A zip holding one folder (or one file) is that folder (or file).
    return entries[0] if len(entries) == 1 else scratch
