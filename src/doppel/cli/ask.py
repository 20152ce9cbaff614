"""``doppel chat`` and ``doppel decide``: ask a twin, loaded here or on a doppel server."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from doppel.cli.app import app
from doppel.cli.console import console, err_console
from doppel.cli.errors import fail, guard
from doppel.cli.settings import ConfigOpt, TwinOpt, command_settings

if TYPE_CHECKING:
    from doppel.twin import RemoteTwin, Reply, Twin

UrlOpt = Annotated[str | None, typer.Option(help="Ask a doppel server (http://host:8011) instead of loading here.")]
TokenOpt = Annotated[str | None, typer.Option(help="Bearer token for --url (default: $DOPPEL_TOKEN).")]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        help="auto | transformers | llamacpp | ollama | openai (default: the twin's config; auto: llamacpp "
        "without CUDA when it can serve the version, else transformers)."
    ),
]
RetrievalOpt = Annotated[
    bool | None,
    typer.Option(
        "--retrieval/--no-retrieval",
        help="Put the person's most similar records in the prompt (default: the twin's retrieval.enabled).",
    ),
]


def _context(items: list[str] | None) -> dict[str, str]:
    ctx = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(ValueError(f"--context {item!r}: expected key=value"))
        ctx[key.strip()] = value.strip()
    return ctx


def _open_twin(
    config: Path | None, twin: str | None, version: str, backend: str | None, url: str | None, token: str | None
) -> Twin | RemoteTwin:
    """The twin to ask: a doppel server when --url is given, else loaded here from the registry."""
    from doppel.twin import Twin

    if url:
        return Twin.connect(
            url, twin, token=token or os.environ.get("DOPPEL_TOKEN"), version=None if version == "final" else version
        )
    with err_console.status("loading the twin"):
        return Twin.load(
            twin, version=None if version == "base" else version, config=command_settings(config), backend=backend
        )


@app.command()
@guard
def chat(
    message: Annotated[str | None, typer.Argument(help="What to ask; leave out for an interactive chat.")] = None,
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    version: Annotated[
        str, typer.Option(help="Version to ask (default: final; 'base': the bare base model).")
    ] = "final",
    context: Annotated[list[str] | None, typer.Option("--context", help="key=value, repeatable.")] = None,
    max_new_tokens: Annotated[int | None, typer.Option(help="Longest reply, in tokens.")] = None,
    temperature: Annotated[float | None, typer.Option(help="0 for the most likely reply.")] = None,
    retrieval: RetrievalOpt = None,
    backend: BackendOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reply object as JSON.")] = False,
):
    """One reply from the twin, or (without MESSAGE) a chat that remembers the conversation.

    In the interactive chat replies stream as they are written; /reset forgets the
    conversation, /quit (or Ctrl-D) leaves. Feedback on the last reply: /good, /bad,
    /rate N (1-10), /edit TEXT (what the person would have said: a preference pair).
    """
    ctx = _context(context)
    model = _open_twin(config, twin, version, backend, url, token)
    options = dict(context=ctx, max_tokens=max_new_tokens, temperature=temperature, retrieval=retrieval)
    try:
        if message is not None:
            reply = model.chat(message, **options)
            if as_json:
                sys.stdout.write(json.dumps(reply.as_dict(), indent=2) + "\n")
                return
            console.print(reply.text, markup=False, highlight=False)
            _reply_footer(reply)
            return
        _interactive(model, options)
    finally:
        model.close()


def _reply_footer(reply: Reply) -> None:
    from doppel.cli.render import print_sources

    print_sources(err_console, reply.sources)
    notice = f" · {reply.notice}" if reply.notice else ""
    err_console.print(
        f"[dim]{reply.twin} {reply.version or 'base'} ({reply.backend}) · "
        f"{reply.completion_tokens} tokens · {reply.latency_ms / 1000:.1f} s{notice}[/]"
    )


FEEDBACK_COMMANDS = ("/good", "/bad", "/rate", "/edit")


def _feedback(model: Twin | RemoteTwin, line: str, history: list[dict]) -> None:
    """Feedback on the last reply of the chat: a rating or an edit, stored with the question it answered."""
    import getpass

    if len(history) < 2:
        err_console.print("[yellow]no reply yet to give feedback on[/]")
        return
    command, _, rest = line.partition(" ")
    rest = rest.strip()
    rating: int | str | None = None
    edited = None
    if command == "/good":
        rating = "up"
    elif command == "/bad":
        rating = "down"
    elif command == "/rate":
        if not rest.isdigit() or not 1 <= int(rest) <= 10:
            err_console.print("[yellow]/rate takes a whole number 1-10[/]")
            return
        rating = int(rest)
    elif not rest:
        err_console.print("[yellow]/edit takes the reply as the person would have written it[/]")
        return
    else:
        edited = rest
    counts = model.feedback(
        history[:-1], history[-1]["content"], reviewer=getpass.getuser(), rating=rating, edited=edited, source="cli"
    )
    waiting = counts.get("edits_waiting", 0)
    err_console.print(f"[dim]feedback stored; {waiting} edit(s) waiting for `doppel train --preference`[/]")


def _interactive(model: Twin | RemoteTwin, options: dict[str, Any]) -> None:
    from doppel.twin import Reply

    history: list[dict] = []
    err_console.print(f"[dim]chatting with {model.name}; /reset forgets, /quit leaves[/]")
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            break
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/reset":
            history.clear()
            err_console.print("[dim]conversation forgotten[/]")
            continue
        if line.split(" ", 1)[0] in FEEDBACK_COMMANDS:
            _feedback(model, line, history)
            continue
        sys.stdout.write(f"{model.name}> ")
        reply = None
        for item in model.stream(line, history=history, **options):
            if isinstance(item, Reply):
                reply = item
            else:
                sys.stdout.write(item)
                sys.stdout.flush()
        sys.stdout.write("\n")
        _reply_footer(reply)
        history += [{"role": "user", "content": line}, {"role": "assistant", "content": reply.text}]
        if reply.history_dropped:  # keep what the model could still see
            history = history[reply.history_dropped :]


@app.command()
@guard
def decide(
    situation: Annotated[str, typer.Argument(help="The situation, e.g. 'New client wants 30% discount'.")],
    option: Annotated[list[str], typer.Option("--option", "-o", help="A choice; give two or more.")],
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    version: Annotated[str, typer.Option(help="Version to ask (default: final).")] = "final",
    context: Annotated[list[str] | None, typer.Option("--context", help="key=value facts, repeatable.")] = None,
    abstain_below: Annotated[
        float | None, typer.Option(help="Abstain when the top probability is below this (default: config).")
    ] = None,
    rationale: Annotated[bool, typer.Option(help="Also ask the twin why.")] = True,
    retrieval: RetrievalOpt = None,
    backend: BackendOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
):
    """Which option the twin would choose, with a probability for each and its reason.

    Probabilities come from the twin's likelihood of each option as its answer, not from
    parsing free text; the choice is always one of the options.
    """
    from doppel.cli.render import print_decision

    ctx = _context(context)
    facts = {**ctx, "question": situation} if ctx else situation
    model = _open_twin(config, twin, version, backend, url, token)
    try:
        decision = model.decide(facts, option, abstain_below=abstain_below, rationale=rationale, retrieval=retrieval)
    finally:
        model.close()
    if as_json:
        sys.stdout.write(json.dumps(decision.as_dict(), indent=2) + "\n")
    else:
        print_decision(console, decision)
