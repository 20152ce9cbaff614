"""``doppel forget``: leave a person, an address, a record or a phrase out of every data set from now on."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.markup import escape

from doppel.cli.app import app
from doppel.cli.console import console
from doppel.cli.errors import fail, guard
from doppel.cli.settings import ConfigOpt, command_settings
from doppel.db import Database


@app.command()
@guard
def forget(
    config: ConfigOpt = None,
    twin: Annotated[
        str | None, typer.Option("--twin", "-t", help="Only this twin (default: every twin in the config).")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Every record sent by, to or mentioning this address.")] = None,
    name: Annotated[str | None, typer.Option(help='Every record naming this person ("Ann Smith").')] = None,
    record: Annotated[str | None, typer.Option(help="One record, by key: emails:1234, notes:77, ...")] = None,
    contains: Annotated[str | None, typer.Option(help="Every record containing this text (any case).")] = None,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Queue a full retrain now (a worker or `doppel serve` runs it).")
    ] = False,
    by: Annotated[str, typer.Option(help="Who asked, kept with the request.")] = "",
    list_: Annotated[bool, typer.Option("--list", help="Show the requests on file instead.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
):
    """File a forget request: matching records are left out of every data set (and the retrieval index) from
    now on, and the versions trained on them are marked (`doppel versions`; export refuses them without
    --force). The next full retrain makes a version without them."""
    from doppel.privacy.forget import ForgetError, ForgetRequest, check_request, list_requests
    from doppel.privacy.forget import forget as file_forget

    settings = command_settings(config)
    db = Database(settings)
    if twin is not None:
        twin = settings.twin(twin).name
    if list_:
        rows = [r.public() for r in list_requests(db, twin)]
        if as_json:
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        else:
            for r in rows:
                console.print(
                    f"#{r['id']}  {r['created_at'][:19]}  {r['twin'] or 'every twin'}  {r['kind']}: "
                    f"{escape(r['value'])}" + (f"  (by {escape(r['requested_by'])})" if r["requested_by"] else "")
                )
            if not rows:
                console.print("no forget requests on file")
        return
    given = {k: v for k, v in {"email": email, "name": name, "record": record, "contains": contains}.items() if v}
    if len(given) != 1:
        fail(ValueError("give exactly one of --email, --name, --record, --contains (or --list)"))
    ((kind, value),) = given.items()
    try:
        value = check_request(kind, value)
    except ForgetError as exc:
        fail(ValueError(f"--{exc}"))
    filed = file_forget(settings, db, ForgetRequest(kind=kind, value=value, twin=twin, requested_by=by))
    queued: dict[str, int] = {}
    if retrain:
        from doppel.jobs.tasks import queue_run

        for name_ in filed.matched:
            queued[name_] = queue_run(settings, db, name_, "full", trigger="forget")
    if as_json:
        sys.stdout.write(json.dumps({**filed.public(), "retrain_runs": queued}, indent=2) + "\n")
        return
    console.print(f"[bold]forget request #{filed.request.id}[/] ({kind}) filed")
    for name_, n in filed.matched.items():
        marked = filed.marked.get(name_) or []
        console.print(
            f"  {name_}: {n} record{'s' if n != 1 else ''} match now; "
            + (f"versions holding them: {', '.join(marked)}" if marked else "no version holds them")
            + (f"; {filed.unindexed[name_]} removed from the retrieval index" if filed.unindexed.get(name_) else "")
            + (f"; full retrain queued (run {queued[name_]})" if name_ in queued else "")
        )
    if not retrain and any(filed.marked.values()):
        console.print("run `doppel train --full` (or `doppel forget ... --retrain`) for a version without them")
