"""Chat exports (Slack, WhatsApp, Telegram, Discord, CSV/JSONL) → one message at a time, in order per chat.

Each reader yields ``ChatMessage``s: which chat, who, what, when, and the export's own id for the message
where it has one (else one is made from the message itself), so the same export imported twice gives the
same rows. Files that are not what the format says stop the import, naming the file and the line.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from doppel.importers.mail import ImportProblem

CHAT_FORMATS = ("slack", "whatsapp", "telegram", "discord", "csv", "jsonl")
# csv / jsonl: the fields a message needs, and the column each comes from by default.
DEFAULT_MAPPING = {"chat": "chat", "sender": "sender", "text": "text", "at": "at", "id": "id"}


@dataclass(frozen=True)
class ChatMessage:
    chat: str  # the channel, DM or chat, as the export names it
    sender: str
    text: str
    at: datetime
    native_id: str | None = None

    def key(self, fmt: str) -> str:
        """What makes this message itself across imports: the export's id, else its content and time."""
        ident = self.native_id or f"{self.at.isoformat()}|{self.sender}|{self.text}"
        return hashlib.sha256(f"{fmt}|{self.chat}|{ident}".encode()).hexdigest()


@dataclass(frozen=True)
class Exporter:
    """The account that made the export, when the format says (Telegram does)."""

    names: frozenset[str]


def iter_chat(fmt: str, path: Path, mapping: Mapping[str, str] | None = None) -> Iterator[ChatMessage]:
    readers = {"slack": _slack, "whatsapp": _whatsapp, "telegram": _telegram, "discord": _discord}
    if fmt in readers:
        yield from readers[fmt](path)
    elif fmt in ("csv", "jsonl"):
        yield from _table(fmt, path, {**DEFAULT_MAPPING, **(mapping or {})})
    else:
        raise ImportProblem(f"unknown chat format {fmt!r}; choose one of {', '.join(CHAT_FORMATS)}")


def exporter(fmt: str, path: Path) -> Exporter | None:
    if fmt != "telegram":
        return None
    data = _json(_telegram_file(path))
    info = data.get("personal_information") if isinstance(data, dict) else None
    if not isinstance(info, dict):
        return None
    full = " ".join(str(info.get(k) or "") for k in ("first_name", "last_name")).strip()
    return Exporter(frozenset(n for n in (full, str(info.get("first_name") or "")) if n)) if full else None


# --- helpers -----------------------------------------------------------------------------------------


def _json(file: Path):
    try:
        with file.open(encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ImportProblem(f"{file}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ImportProblem(f"{file}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ImportProblem(f"{file}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def _stamp(value, file: Path) -> datetime:
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value)):
            return datetime.fromtimestamp(float(value), tz=UTC)
        stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError, OSError):
        raise ImportProblem(f"{file}: unreadable time {str(value)[:40]!r}") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _flat_text(value) -> str:
    """Telegram's text is a string or a list of strings and {type, text} pieces (links, bold, mentions)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v if isinstance(v, str) else str(v.get("text", "")) for v in value if isinstance(v, (str, dict)))
    return ""


# --- Slack -------------------------------------------------------------------------------------------


def _slack(path: Path) -> Iterator[ChatMessage]:
    """A workspace export: users.json, and a folder per channel or DM of one JSON file per day."""
    if not path.is_dir() or not (path / "users.json").is_file():
        raise ImportProblem(f"{path}: not a Slack export (a folder with users.json and a folder per channel)")
    users = {}
    for u in _json(path / "users.json"):
        profile = u.get("profile") or {}
        users[u.get("id")] = profile.get("real_name") or u.get("real_name") or u.get("name") or u.get("id")
    for channel in sorted(p for p in path.iterdir() if p.is_dir()):
        for day in sorted(channel.glob("*.json")):
            items = _json(day)
            if not isinstance(items, list):
                raise ImportProblem(f"{day}: a Slack day file holds a list of messages")
            for item in items:
                if not isinstance(item, dict) or item.get("type") != "message" or item.get("subtype"):
                    continue  # joins, topic changes, bots: not anyone's words
                text = _slack_text(str(item.get("text") or ""), users)
                if text.strip():
                    sender = users.get(item.get("user"), item.get("user_name") or str(item.get("user")))
                    yield ChatMessage(channel.name, sender, text, _stamp(item.get("ts"), day), str(item.get("ts")))


def _slack_text(text: str, users: Mapping) -> str:
    # <@U123> mentions read as the person's name; <http://x|label> links as their label.
    text = re.sub(r"<@(\w+)>", lambda m: "@" + str(users.get(m.group(1), m.group(1))), text)
    return re.sub(r"<([^<>|]+)\|([^<>]+)>", r"\2", text).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


# --- WhatsApp ----------------------------------------------------------------------------------------

# Android: "12/31/20, 9:15 PM - Ann: text"   iOS: "[31.12.20, 21:15:03] Ann: text"
_WA_ANDROID = re.compile(
    r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2,4}),? (\d{1,2}):(\d{2})(?::(\d{2}))?\s?([AaPp]\.?[Mm]\.?)? - (.*)$"
)
_WA_IOS = re.compile(
    r"^\[(\d{1,2})[/.](\d{1,2})[/.](\d{2,4}),? (\d{1,2}):(\d{2})(?::(\d{2}))?\s?([AaPp]\.?[Mm]\.?)?\] (.*)$"
)


def _whatsapp(path: Path) -> Iterator[ChatMessage]:
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if not files:
        raise ImportProblem(f"{path}: no WhatsApp .txt exports in this folder")
    for file in files:
        lines = _text_lines(file)
        parsed = [(n, m) for n, line in enumerate(lines, 1) if (m := _WA_ANDROID.match(line) or _WA_IOS.match(line))]
        if not parsed:
            raise ImportProblem(f"{file}: line 1 is not a WhatsApp message line ('date, time - name: text')")
        day_first = _day_first(parsed, lines)
        chat = file.stem.removeprefix("WhatsApp Chat with ").strip() or file.stem
        bounds = [n for n, _ in parsed] + [len(lines) + 1]
        for (n, match), end in zip(parsed, bounds[1:], strict=True):
            rest = match.group(8)
            sender, sep, first = rest.partition(": ")
            if not sep:
                continue  # "Messages are end-to-end encrypted", "Ann added Bo": no one's words
            text = "\n".join([first, *lines[n : end - 1]]).strip()
            if not text or text in ("<Media omitted>", "‎image omitted"):
                continue
            yield ChatMessage(chat, sender.strip(), text, _wa_time(match, day_first, file, n))


def _day_first(parsed: list[tuple[int, re.Match]], lines: list[str]) -> bool:
    """Whether dates are day/month: any first number over 12 says so, any second one says not; with
    neither, the bracketed iOS layout is day-first in most locales and Android's US layout is not."""
    if any(int(m.group(1)) > 12 for _, m in parsed):
        return True
    if any(int(m.group(2)) > 12 for _, m in parsed):
        return False
    return lines[parsed[0][0] - 1].startswith("[")


def _wa_time(m: re.Match, day_first: bool, file: Path, line: int) -> datetime:
    a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    day, month = (a, b) if day_first else (b, a)
    hour, minute, second = int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)
    ampm = (m.group(7) or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        return datetime(year + 2000 if year < 100 else year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise ImportProblem(f"{file}: line {line} has an impossible date") from None


def _text_lines(file: Path) -> list[str]:
    try:
        return file.read_text(encoding="utf-8-sig").replace("\u202f", " ").splitlines()
    except FileNotFoundError:
        raise ImportProblem(f"{file}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ImportProblem(f"{file}: not UTF-8 text (byte {exc.start})") from None


# --- Telegram ----------------------------------------------------------------------------------------


def _telegram_file(path: Path) -> Path:
    return path / "result.json" if path.is_dir() else path


def _telegram(path: Path) -> Iterator[ChatMessage]:
    file = _telegram_file(path)
    data = _json(file)
    if not isinstance(data, dict):
        raise ImportProblem(f"{file}: not a Telegram Desktop export (result.json)")
    chats = (data.get("chats") or {}).get("list") if "chats" in data else [data]
    if not isinstance(chats, list) or not all(isinstance(c, dict) and "messages" in c for c in chats):
        raise ImportProblem(f"{file}: not a Telegram Desktop export (no chats with messages)")
    for chat in chats:
        name = str(chat.get("name") or chat.get("id") or "chat")
        for item in chat["messages"]:
            if item.get("type") != "message":
                continue
            text = _flat_text(item.get("text"))
            if text.strip():
                at = _stamp(item.get("date_unixtime") or item.get("date"), file)
                yield ChatMessage(name, str(item.get("from") or ""), text, at, str(item.get("id")))


# --- Discord (DiscordChatExporter) -------------------------------------------------------------------


def _discord(path: Path) -> Iterator[ChatMessage]:
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise ImportProblem(f"{path}: no DiscordChatExporter .json files in this folder")
    for file in files:
        data = _json(file)
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise ImportProblem(f"{file}: not a DiscordChatExporter JSON export (no messages list)")
        channel = data.get("channel") or {}
        chat = str(channel.get("name") or channel.get("id") or file.stem)
        for item in data["messages"]:
            if item.get("type") not in (None, "Default", "Reply"):
                continue
            author = item.get("author") or {}
            text = str(item.get("content") or "")
            if text.strip():
                sender = str(author.get("nickname") or author.get("name") or author.get("id") or "")
                yield ChatMessage(chat, sender, text, _stamp(item.get("timestamp"), file), str(item.get("id")))


# --- CSV / JSONL with a column mapping ---------------------------------------------------------------


def _table(fmt: str, path: Path, mapping: Mapping[str, str]) -> Iterator[ChatMessage]:
    if not path.is_file():
        raise ImportProblem(f"{path}: no such file")
    rows = _csv_rows(path) if fmt == "csv" else _jsonl_rows(path)
    for line, row in rows:
        missing = [f for f in ("sender", "text", "at") if mapping[f] not in row]
        if missing:
            columns = ", ".join(f"{f} (column {mapping[f]!r})" for f in missing)
            raise ImportProblem(f"{path}: line {line} has no {columns}; map them with --map FIELD=COLUMN")
        text = str(row[mapping["text"]] or "")
        if text.strip():
            native = row.get(mapping["id"])
            yield ChatMessage(
                str(row.get(mapping["chat"]) or path.stem),
                str(row[mapping["sender"]] or ""),
                text,
                _stamp(row[mapping["at"]], path),
                str(native) if native not in (None, "") else None,
            )


def _csv_rows(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                yield reader.line_num, row
    except UnicodeDecodeError as exc:
        raise ImportProblem(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise ImportProblem(f"{path}: not valid CSV: {exc}") from None


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ImportProblem(f"{path}: line {number} is not JSON: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise ImportProblem(f"{path}: line {number} is not a JSON object")
                yield number, row
    except UnicodeDecodeError as exc:
        raise ImportProblem(f"{path}: not UTF-8 text (byte {exc.start})") from None
