"""Export round trip on the real SmolLM2 twin: merge, convert, quantize, then run the GGUF in llama.cpp.

The reference is PyTorch base + adapter (the twin as trained). Teacher-forced on
PyTorch's own greedy continuation, llama.cpp's top-1 token must match PyTorch's
at >= 95% of positions for f16 (measured 100% on the demo twin; q8_0 98%,
q4_k_m 93%), and llama.cpp must tokenize the rendered chat exactly as the HF
tokenizer does. The converter is the one `make install` puts in the environment.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from doppel.inference.messages import chat_messages
from doppel.registry import Registry, Version

TEST_CACHE = Path(__file__).resolve().parents[2] / ".test-cache"
GENERATED = 32
MIN_AGREEMENT_F16 = 0.95
MIN_AGREEMENT_Q4 = 0.8  # 4-bit weights of a 135M model do flip some close calls
QUESTIONS = [
    "Write a short note to Bob about the TestPilot renewal.",
    "What do you make of remote work?",
]


@pytest.fixture(scope="module")
def converter(decider_twin):
    """The converter `make install` put in the environment (a missing one fails: export needs it)."""
    from doppel.export.gguf import converter_script

    return converter_script(decider_twin.settings.home).parent


@pytest.fixture(scope="module")
def version(decider_twin, tmp_path_factory) -> Version:
    """A private copy of the session's version: exporting writes into the version folder and its manifest."""
    source = decider_twin.version
    target = tmp_path_factory.mktemp("export") / "models" / source.twin / source.name
    shutil.copytree(source.path, target, ignore=shutil.ignore_patterns("export", "exports"))
    return Version(source.twin, source.name, target)


@pytest.fixture(scope="module")
def exported(decider_twin, version, converter):
    from doppel.export.run import export_version

    settings, twin = decider_twin.settings, decider_twin.twin
    stages = []
    f16 = export_version(settings, twin, version, quant="f16", progress=lambda *a: stages.append(a))
    q4 = export_version(settings, twin, version, quant="q4_k_m")
    print(f"\nexport f16 {f16.seconds}, q4_k_m {q4.seconds}; sizes {q4.sizes}")
    return {"f16": f16, "q4_k_m": q4, "stages": stages}


@pytest.fixture(scope="module")
def prompts(decider_twin):
    persona = decider_twin.twin.persona
    history = [{"role": "user", "content": "Hi Allan"}, {"role": "assistant", "content": "Hey, what's up?"}]
    return [
        decider_twin.messages,
        *(chat_messages(persona, q) for q in QUESTIONS),
        chat_messages(persona, "How is the Q3 pipeline looking?", history=history, context={"deal_amount": 5000}),
    ]


@pytest.fixture(scope="module")
def reference(decider_twin, smollm2, version, prompts):
    """PyTorch base + adapter: each prompt's ids, its greedy continuation, and the argmax at each of its positions."""
    from transformers import AutoTokenizer

    from doppel.training.lora import load_adapter, load_base

    tokenizer = AutoTokenizer.from_pretrained(version.tokenizer_dir)
    model = load_adapter(load_base(smollm2), version.adapter_dir).eval()
    rows = []
    with torch.no_grad():
        for messages in prompts:
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            prompt = tokenizer(text, add_special_tokens=False)["input_ids"]
            ids = torch.tensor([prompt])
            # At least GENERATED tokens even past <|im_end|>: the comparison wants that many positions.
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                do_sample=False,
                max_new_tokens=GENERATED,
                min_new_tokens=GENERATED,
                pad_token_id=tokenizer.pad_token_id,
            )
            continuation = out[0, len(prompt) :].tolist()
            argmax = model(input_ids=out).logits[0, len(prompt) - 1 : -1].argmax(-1).numpy()
            rows.append((text, prompt, continuation, argmax))
    return rows


def _llama(path: Path):
    from doppel.inference.backends.llamacpp import load_llama

    # One thread: llama.cpp's threads spin-wait for each other and stall on a busy 2-core machine.
    return load_llama(str(path), n_ctx=1024, logits_all=True, n_threads=1, n_threads_batch=1, verbose=False)


def _agreement(llm, reference) -> list[float]:
    """Per prompt: how often llama.cpp's argmax equals PyTorch's, fed PyTorch's greedy tokens."""
    rates = []
    for _text, prompt, continuation, argmax in reference:
        llm.reset()
        llm.eval(prompt + continuation)
        ours = np.asarray(llm.scores[len(prompt) - 1 : len(prompt) - 1 + len(continuation)]).argmax(-1)
        rates.append(float((ours == argmax).mean()))
    return rates


def test_f16_gguf_matches_pytorch(exported, reference):
    llm = _llama(exported["f16"].gguf_f16)
    try:
        for text, prompt, _, _ in reference:  # special tokens parsed, no BOS: the same ids as the HF tokenizer
            assert llm.tokenize(text.encode(), add_bos=False, special=True) == prompt
        rates = _agreement(llm, reference)
    finally:
        llm.close()
    print(f"f16 top-1 agreement per prompt: {rates}")
    assert np.mean(rates) >= MIN_AGREEMENT_F16


def test_gguf_records_its_provenance(exported, decider_twin, smollm2):
    from doppel.export.gguf import gguf_metadata

    for quant in ("f16", "q4_k_m"):
        fields = gguf_metadata(exported[quant].gguf)
        assert fields["doppel.twin"] == decider_twin.twin.name
        assert fields["doppel.version"] == "v1.0"
        assert fields["doppel.base_model"] == "smollm2-135m-instruct"
        assert fields["doppel.base_fingerprint"] == smollm2.fingerprint
        assert fields["doppel.quantization"] == quant
        assert fields["general.architecture"] == "llama"
        assert fields["general.file_type"] == {"f16": 1, "q4_k_m": 15}[quant]


def test_q4_k_m_is_smaller_and_still_the_twin(exported, reference):
    f16, q4 = exported["f16"].gguf_f16, exported["q4_k_m"].gguf
    assert q4.name.endswith("-q4_k_m.gguf") and q4.stat().st_size < 0.5 * f16.stat().st_size
    llm = _llama(q4)
    try:
        rates = _agreement(llm, reference)
    finally:
        llm.close()
    print(f"q4_k_m top-1 agreement per prompt: {rates}")
    assert np.mean(rates) >= MIN_AGREEMENT_Q4


def test_export_folder_and_manifest(exported, version):
    from doppel.digests import sha256_file

    result = exported["q4_k_m"]
    assert result.folder == version.path / "export"
    names = sorted(p.name for p in result.folder.iterdir() if not p.name.startswith("."))
    assert names == [
        "Modelfile",
        "allan-maverick-v1.0-f16.gguf",
        "allan-maverick-v1.0-q4_k_m.gguf",
        "merged",
        "ollama.json",
    ]
    assert not [p for p in result.folder.rglob(".*") if p.name != ".lock"]  # no temporary left behind
    assert "FROM ./allan-maverick-v1.0-q4_k_m.gguf" in result.modelfile.read_text()
    assert (result.merged_dir / "model.safetensors").is_file() and (result.merged_dir / "tokenizer.json").is_file()
    assert [s for s, _, _ in exported["stages"]] == ["merge", "convert", "modelfile", "done"]
    assert set(exported["f16"].seconds) == {"merge", "convert", "modelfile"}

    manifest = version.manifest
    assert manifest["files"] and not Registry(version.path.parents[1]).verify(version)  # other keys kept
    for quant in ("f16", "q4_k_m"):
        entry = manifest["exports"][quant]
        path = version.path / entry["file"]
        assert entry["bytes"] == path.stat().st_size == result.sizes[path.name]
        assert entry["sha256"] == sha256_file(path)
        assert entry["created_at"]


def test_second_export_reuses_everything(exported, decider_twin, version):
    from doppel.export.run import export_version

    before = version.manifest["exports"]
    mtimes = {p: p.stat().st_mtime_ns for p in (exported["q4_k_m"].gguf_f16, exported["q4_k_m"].gguf)}
    start = time.perf_counter()
    again = export_version(decider_twin.settings, decider_twin.twin, version, quant="q4_k_m")
    assert time.perf_counter() - start < 10
    assert again.reused == ["merge", "convert", "quantize"]
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert version.manifest["exports"] == before


def test_errors_are_clear(tmp_path, decider_twin, version, converter):
    from doppel.export.gguf import GGUFExportError, convert
    from doppel.export.run import ExportError, export_version

    with pytest.raises(ExportError, match="q3"):
        export_version(decider_twin.settings, decider_twin.twin, version, quant="q3")
    other = decider_twin.twin.model_copy(
        update={"base_model": decider_twin.twin.base_model.model_copy(update={"name": "Qwen/Qwen2.5-0.5B"})}
    )
    with pytest.raises(ExportError, match="trained on base model"):
        export_version(decider_twin.settings, other, version, quant="f16")

    fake = tmp_path / "merged"
    fake.mkdir()
    (fake / "config.json").write_text('{"architectures": ["DoppelgangerForCausalLM"], "model_type": "doppel"}')
    with pytest.raises(GGUFExportError, match="does not support the DoppelgangerForCausalLM"):
        convert(fake, tmp_path / "x.gguf", script=converter / "convert_hf_to_gguf.py", metadata={}, name="x")
    assert not list(tmp_path.glob("*.gguf")) and not list(tmp_path.glob(".x.gguf*"))
