"""``doppel import``: a mailbox export into the seed's tables of doppel's database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from doppel.cli.app import app
from doppel.cli.console import console, err_console
from doppel.cli.errors import fail, guard
from doppel.cli.settings import ConfigOpt, TwinOpt, command_settings
from doppel.db import Database


@app.command("import")
@guard
def import_command(
    fmt: Annotated[
        str,
        typer.Argument(
            metavar="FORMAT",
            help="mbox (Gmail Takeout too) | maildir | eml | slack | whatsapp | telegram | discord | csv | jsonl",
        ),
    ],
    path: Annotated[
        Path,
        typer.Argument(
            help="The export: an .mbox file or a folder of them, a maildir, .eml files, a Slack export (folder "
            "or .zip), a WhatsApp .txt, Telegram's result.json, DiscordChatExporter .json files, a .csv or .jsonl."
        ),
    ],
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    me: Annotated[
        list[str] | None,
        typer.Option("--me", help="The person's address or display name (repeatable); default: guessed."),
    ] = None,
    gap_hours: Annotated[
        float, typer.Option(help="Chats: a pause this long starts a new conversation.", min=0.01)
    ] = 24.0,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="csv/jsonl: FIELD=COLUMN for chat, sender, text, at, id (repeatable).", metavar="F=C"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
):
    """Import a mailbox or a chat export into the database the twin reads (the seed's tables).

    Mail goes to crm_emails, threaded by Message-ID; chats become conversations (one per chat and pause
    of --gap-hours), the person's messages as the twin's persona.user_id. Prints who the person is (given
    with --me, else guessed from the Sent folder or the exporting account) before writing; the import is
    one transaction, and importing the same export again adds nothing.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from doppel.importers import MAIL_FORMATS, ImportProblem, run_import

    columns = _mapping(mapping or [])
    settings = command_settings(config)
    twin_cfg = settings.twin(twin)
    db = Database(settings)
    people = []
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} messages"),
            TimeElapsedColumn(),
            console=err_console,
        ) as bar:
            task = bar.add_task("reading", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total or None)

            def said(person) -> None:
                people.append(person)
                err_console.print(f"the person: {escape(person.describe())}")

            report = run_import(
                db,
                twin_cfg,
                fmt,
                path,
                me=me or (),
                gap_hours=gap_hours,
                mapping=columns,
                progress=progress,
                on_person=said,
            )
    except ImportProblem as exc:
        fail(exc)
    person = people[0]
    matches = _pattern_matches(db, twin_cfg.persona.email_pattern, person.addresses)
    if as_json:
        sys.stdout.write(json.dumps({**report.to_dict(), "email_pattern_matches": matches}, indent=2) + "\n")
        return
    if fmt not in MAIL_FORMATS:
        console.print(
            f"[bold]{report.written}[/] messages written ({report.already_there} already there) in "
            f"{report.conversations} new conversations; {report.person_written} of them the person's, as "
            f"persona.user_id {twin_cfg.persona.user_id!r}"
        )
        console.print(f"next: doppel train --twin {twin_cfg.name}")
        return
    skipped = ", ".join(f"{reason} {n}" for reason, n in report.skipped.items()) or "none"
    console.print(
        f"[bold]{report.written}[/] messages written ({report.already_there} already there), "
        f"{report.replies_linked} replies linked to what they answer; skipped: {skipped}; "
        f"attachments skipped: {report.attachments}"
    )
    if not matches and person.addresses:
        address = sorted(person.addresses)[0]
        console.print(
            f"[yellow]twin {twin_cfg.name}'s persona.email_pattern {twin_cfg.persona.email_pattern!r} does not "
            f'match {escape(address)}[/]: set [twins.persona] email_pattern = "%{escape(address)}%" in doppel.toml'
        )
    console.print(f"next: doppel train --twin {twin_cfg.name}")


def _mapping(pairs: list[str]) -> dict[str, str]:
    from doppel.importers.chats import DEFAULT_MAPPING

    found = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or field not in DEFAULT_MAPPING or not column:
            fail(ValueError(f"--map: {pair!r} is not FIELD=COLUMN with FIELD one of {', '.join(DEFAULT_MAPPING)}"))
        found[field] = column
    return found


def _pattern_matches(db: Database, pattern: str, addresses: set[str]) -> bool:
    """Whether the twin's persona would find the person's emails (the same LIKE the source runs)."""
    if not addresses:
        return False
    with db.crm.connection() as conn:
        return any(conn.execute("SELECT %s LIKE %s", (a, pattern)).fetchone()[0] for a in addresses)
