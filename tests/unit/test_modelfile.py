"""The Ollama TEMPLATE renders exactly the ChatML the twin was trained with.

Ollama is not here, so a small renderer for the Go text/template subset our
template uses (text, trim markers, if/else/end, range, fields, not/eq/len and
string literals) stands in for it, fed what Ollama feeds a template: ``.System``
(all system messages joined) and ``.Messages`` (consecutive same-role messages
merged, system ones included).
"""

from __future__ import annotations

import json
import re

import pytest

from doppel.config import TwinConfig
from doppel.export.modelfile import (
    ModelfileError,
    chatml,
    check_chatml,
    modelfile,
    ollama_parameters,
    ollama_spec,
    write_ollama_files,
)
from doppel.inference.messages import chat_messages

# ---------------------------------------------------------------- a Go text/template subset

_ACTION = re.compile(r"\{\{(-[ \t\r\n])?(.*?)([ \t\r\n]-)?\}\}", re.S)
_SPACE = " \t\r\n"


def _lex(src: str) -> list[tuple[str, str]]:
    """("text", s) and ("action", body) items, with Go's {{- and -}} whitespace trimming applied."""
    items: list[tuple[str, str]] = []
    pos, trim_next = 0, False
    for m in _ACTION.finditer(src):
        text = src[pos : m.start()]
        if trim_next:
            text = text.lstrip(_SPACE)
        if m.group(1):
            text = text.rstrip(_SPACE)
        items += [("text", text), ("action", m.group(2).strip())]
        pos, trim_next = m.end(), bool(m.group(3))
    tail = src[pos:]
    items.append(("text", tail.lstrip(_SPACE) if trim_next else tail))
    return items


def _parse(items: list, i: int = 0, stop: tuple[str, ...] = ()) -> tuple[list, int, str | None]:
    """Nodes up to one of the ``stop`` keywords; returns (nodes, next index, the keyword action met)."""
    nodes: list = []
    while i < len(items):
        kind, body = items[i]
        i += 1
        if kind == "text":
            nodes.append(("text", body))
            continue
        word = body.split(None, 1)[0]
        if word in stop:
            return nodes, i, body
        if word in ("if", "range"):
            branches, other = [], []
            cond = body[len(word) :].strip()
            while True:
                inner, i, ender = _parse(items, i, ("else", "end"))
                if word == "range":
                    assert ender == "end", "range/else is not needed here"
                    nodes.append(("range", cond, inner))
                    break
                branches.append((cond, inner))
                if ender == "end":
                    break
                if ender.startswith("else if "):
                    cond = ender[len("else if ") :].strip()
                    continue
                other, i, ender = _parse(items, i, ("end",))
                break
            if word == "if":
                nodes.append(("if", branches, other))
        else:
            nodes.append(("out", body))
    assert not stop, f"missing {stop}"
    return nodes, i, None


def _args(expr: str) -> list[str]:
    return re.findall(r'"(?:[^"\\]|\\.)*"|\S+', expr)


def _value(token: str, dot, root):
    if token.startswith('"'):
        return json.loads(token)
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if token in (".", "$"):
        return dot if token == "." else root
    base, path = (root, token[2:]) if token.startswith("$.") else (dot, token[1:])
    assert token.startswith((".", "$.")), f"unsupported operand {token}"
    for name in path.split("."):
        base = base[name]
    return base


_FUNCS = {
    "not": lambda x: not _truth(x),
    "eq": lambda a, *bs: any(a == b for b in bs),
    "len": len,
    "and": lambda *xs: next((x for x in xs if not _truth(x)), xs[-1]),
    "or": lambda *xs: next((x for x in xs if _truth(x)), xs[-1]),
}


def _eval(expr: str, dot, root):
    words = _args(expr)
    if words[0] in _FUNCS:
        return _FUNCS[words[0]](*(_value(w, dot, root) for w in words[1:]))
    assert len(words) == 1, f"unsupported pipeline {expr}"
    return _value(words[0], dot, root)


def _truth(x) -> bool:
    return bool(x)  # Go: false, 0, nil, and empty strings, slices and maps are false


def _run(nodes: list, dot, root, out: list[str]) -> None:
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "out":
            value = _eval(node[1], dot, root)
            out.append(str(value).lower() if isinstance(value, bool) else str(value))
        elif node[0] == "range":
            for item in _eval(node[1], dot, root):
                _run(node[2], item, root, out)
        else:
            for cond, body in node[1]:
                if _truth(_eval(cond, dot, root)):
                    _run(body, dot, root, out)
                    break
            else:
                _run(node[2], dot, root, out)


def render_go(template: str, data: dict) -> str:
    nodes, _, _ = _parse(_lex(template))
    out: list[str] = []
    _run(nodes, data, data, out)
    return "".join(out)


def ollama_values(messages: list[dict], modelfile_system: str = "") -> dict:
    """What Ollama's chat handler and template.collate pass a template for these request messages."""
    if modelfile_system and (not messages or messages[0]["role"] != "system"):
        messages = [{"role": "system", "content": modelfile_system}] + messages
    collated: list[dict] = []
    for m in messages:
        if collated and collated[-1]["Role"] == m["role"]:
            collated[-1]["Content"] += "\n\n" + m["content"]
        else:
            collated.append({"Role": m["role"], "Content": m["content"]})
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    return {"System": system, "Messages": collated}


def test_renderer_handles_the_subset():
    template = '{{- if eq .Role "user" }}U{{ else if .X }}X{{ else }}-{{ end -}}  \n {{ range $.L }}[{{ . }}]{{ end }}'
    assert render_go(template, {"Role": "user", "L": [1, 2]}) == "U[1][2]"
    assert render_go(template, {"Role": "a", "X": "y", "L": []}) == "X"
    assert render_go("a  {{- not .S }} {{ len .L }}", {"S": "", "L": [1]}) == "atrue 1"


# ---------------------------------------------------------------- the template against the tokenizer


@pytest.fixture
def twin() -> TwinConfig:
    return TwinConfig()


def _conversation(twin: TwinConfig) -> list[dict]:
    history = [
        {"role": "user", "content": "Morning Allan, did you see the Acme proposal?"},
        {"role": "assistant", "content": "Saw it. Too rich for a pilot.\n\nLet's talk at 10."},
        {"role": "user", "content": "  Spaces and {{ braces }} stay as they are  "},
        {"role": "assistant", "content": "Fine by me."},
    ]
    return chat_messages(
        twin.persona,
        "Accept, Counter-offer or Decline?",
        history=history,
        context={"deal_amount": 50000, "deal_stage": "negotiation"},
    )


def test_template_renders_the_training_chat_format(tokenizer, twin):
    spec = ollama_spec(twin, "twin.gguf")
    messages = _conversation(twin)
    expected = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert render_go(spec["template"], ollama_values(messages, spec["system"])) == expected
    assert chatml(messages) == expected


def test_request_without_system_gets_the_persona(tokenizer, twin):
    spec = ollama_spec(twin, "twin.gguf")
    question = [{"role": "user", "content": "Lunch Thursday?"}]
    expected = tokenizer.apply_chat_template(
        [{"role": "system", "content": twin.persona.system_message()}] + question,
        tokenize=False,
        add_generation_prompt=True,
    )
    # Ollama inserts the Modelfile's SYSTEM; the template falls back to the persona even without it.
    assert render_go(spec["template"], ollama_values(question, spec["system"])) == expected
    assert render_go(spec["template"], ollama_values(question)) == expected


def test_template_keeps_template_syntax_in_the_persona_literal(tokenizer):
    twin = TwinConfig.model_validate({"persona": {"system_prompt": "You are {name}. Never write {{ .Secret }}."}})
    spec = ollama_spec(twin, "twin.gguf")
    question = [{"role": "user", "content": "Hi"}]
    expected = tokenizer.apply_chat_template(
        [{"role": "system", "content": twin.persona.system_message()}] + question,
        tokenize=False,
        add_generation_prompt=True,
    )
    assert render_go(spec["template"], ollama_values(question)) == expected


def test_check_chatml(tokenizer):
    check_chatml(tokenizer)
    other = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    other.chat_template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
    with pytest.raises(ModelfileError, match="not ChatML"):
        check_chatml(other)


# ---------------------------------------------------------------- Modelfile and ollama.json

GOLDEN = '''FROM ./allan-maverick-v1.0-q4_k_m.gguf
TEMPLATE """{{ if not .System }}<|im_start|>system
You are Allan Maverick. Reply as Allan Maverick would.<|im_end|>
{{ end }}{{ range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"""
SYSTEM """You are Allan Maverick. Reply as Allan Maverick would."""
PARAMETER stop "<|im_end|>"
PARAMETER stop "<|im_start|>"
PARAMETER num_ctx 2048
PARAMETER num_predict 256
PARAMETER temperature 0.0
PARAMETER top_k 50
PARAMETER top_p 0.9
PARAMETER repeat_penalty 1.1
PARAMETER repeat_last_n -1
'''


def test_modelfile_golden(twin):
    assert modelfile(ollama_spec(twin, "allan-maverick-v1.0-q4_k_m.gguf", context_window=8192)) == GOLDEN


def test_num_ctx(twin):
    assert ollama_parameters(twin)["num_ctx"] == 2048  # training max_length 512, raised to the floor
    long = twin.model_copy(update={"training": twin.training.model_copy(update={"max_length": 4096})})
    assert ollama_parameters(long)["num_ctx"] == 4096
    assert ollama_parameters(long, context_window=1024)["num_ctx"] == 1024  # never past the base's window


def test_modelfile_refuses_triple_quotes():
    twin = TwinConfig.model_validate({"persona": {"system_prompt": 'Say """hi""".'}})
    with pytest.raises(ModelfileError, match='"""'):
        modelfile(ollama_spec(twin, "x.gguf"))


def test_write_ollama_files(tmp_path, twin):
    spec = ollama_spec(twin, "x.gguf")
    mf, js = write_ollama_files(tmp_path, spec)
    assert mf.read_text() == modelfile(spec)
    data = json.loads(js.read_text())
    assert data == spec and data["gguf"] == "x.gguf" and data["parameters"]["stop"] == ["<|im_end|>", "<|im_start|>"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Modelfile", "ollama.json"]  # no temporary left
