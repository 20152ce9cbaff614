"""llama.cpp serving the real SmolLM2 GGUF plus the twin's adapter converted to a LoRA GGUF.

The reference is the transformers backend on the same version: the HF weights
were de-quantized from the very GGUF llama.cpp runs, so the two must agree up
to llama.cpp's quantized arithmetic. The tolerance is checked against two
broken setups (no adapter, q/k LoRA rows left in Hugging Face's RoPE order) so
the comparison cannot pass by being loose.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from doppel.inference.backend import BackendError, Generation, Sampling
from doppel.inference.messages import chat_messages
from doppel.registry import Version

# Per reply position: KL(transformers || llama.cpp), and the largest |log-prob gap| among the reference's
# top-10 tokens; both averaged over positions. Measured on the decider twin (means over the prompts):
#   llama.cpp + adapter   KL 0.003-0.010   gap 0.30-0.47   (base alone vs base: KL 0.002-0.005, gap 0.16-0.20)
#   unpermuted q/k LoRA   KL 0.12-0.18     gap 1.7-2.0
#   no adapter            KL 2.9-7.8       gap 7-11
MAX_KL = 0.03
MAX_GAP = 0.8
REPLY = "Counter-offer: 15% off if they sign for two years, paid upfront. Let's talk on Thursday."
QUESTIONS = [
    "Write a short note to Bob about the TestPilot renewal.",
    "How is the Q3 pipeline looking?",
]


def _copy_version(version: Version, tmp_path) -> Version:
    """A private copy, so deliberately broken exports never touch the session's version."""
    target = tmp_path / "models" / version.twin / version.name
    shutil.copytree(version.path, target, ignore=shutil.ignore_patterns("export"))
    return Version(version.twin, version.name, target)


@pytest.fixture(scope="module")
def twin(decider_twin):
    """The decider twin on one llama.cpp thread: llama.cpp's threads spin-wait for each other, so on a
    small machine shared with other work two threads can stall for seconds per token."""
    cfg = decider_twin.twin
    return cfg.model_copy(update={"inference": cfg.inference.model_copy(update={"threads": 1})})


@pytest.fixture(scope="module")
def prompts(decider_twin):
    persona = decider_twin.twin.persona
    return [decider_twin.messages] + [chat_messages(persona, q) for q in QUESTIONS]


@pytest.fixture(scope="module")
def transformers_backend(decider_twin):
    from doppel.inference.backends.transformers import TransformersBackend

    backend = TransformersBackend.open(decider_twin.settings, decider_twin.twin, decider_twin.version)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def reference(transformers_backend, prompts):
    """transformers + adapter: log-probs after each prompt and after each token of REPLY."""
    prompter = transformers_backend.prompter
    rows = []
    for messages in prompts:
        prompt = prompter.encode(prompter.render(messages))
        ids = torch.tensor([prompt + prompter.encode(REPLY)])
        with torch.no_grad(), transformers_backend.local.lock:
            logits = transformers_backend.local.model(input_ids=ids).logits[0, len(prompt) - 1 :]
        rows.append(torch.log_softmax(logits.double(), dim=-1).numpy())
    return rows


@pytest.fixture(scope="module")
def llama(decider_twin, twin):
    from doppel.inference.backends.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend.open(decider_twin.settings, twin, decider_twin.version)
    yield backend
    backend.close()


def _divergence(backend, prompts, reference) -> tuple[list[bool], float, float]:
    """Whether the next token after each prompt agrees; mean KL and mean top-10 log-prob gap over all positions."""
    same_top, kls, gaps = [], [], []
    for messages, ref in zip(prompts, reference):
        got = backend.logprobs(messages, REPLY)
        assert got.shape == ref.shape
        same_top.append(int(np.argmax(got[0])) == int(np.argmax(ref[0])))
        kls.append((np.exp(ref) * (ref - got)).sum(axis=1))
        top = np.argsort(-ref, axis=1)[:, :10]
        gaps.append(np.abs(np.take_along_axis(got, top, 1) - np.take_along_axis(ref, top, 1)).max(axis=1))
    return same_top, float(np.concatenate(kls).mean()), float(np.concatenate(gaps).mean())


def test_converted_adapter_matches_transformers(decider_twin, twin, llama, prompts, reference, tmp_path, monkeypatch):
    from doppel.inference.backends.llamacpp import LlamaCppBackend
    from doppel.training import lora_gguf

    prompter = llama.prompter
    for messages in prompts:  # llama.cpp's tokenizer, special tokens parsed, gives the transformers ids
        text = prompter.render(messages)
        assert llama.encode(text) == prompter.encode(text)

    same_top, kl, gap = _divergence(llama, prompts, reference)
    print(f"llama.cpp + adapter vs transformers: KL {kl:.4f}, top-10 gap {gap:.3f}")
    assert all(same_top)
    assert kl < MAX_KL and gap < MAX_GAP

    # Controls: the same comparison must fail for the bare base and for unpermuted q/k.
    settings = decider_twin.settings
    base = LlamaCppBackend.open(settings, twin, None)
    try:
        _, base_kl, base_gap = _divergence(base, prompts, reference)
    finally:
        base.close()
    monkeypatch.setattr(lora_gguf, "rope_permute", lambda rows, n_head: rows)
    unpermuted = LlamaCppBackend.open(settings, twin, _copy_version(decider_twin.version, tmp_path))
    try:
        _, unpermuted_kl, unpermuted_gap = _divergence(unpermuted, prompts, reference)
    finally:
        unpermuted.close()
    print(
        f"controls: no adapter KL {base_kl:.4f} gap {base_gap:.3f}; unpermuted q/k KL {unpermuted_kl:.4f} "
        f"gap {unpermuted_gap:.3f}"
    )
    assert base_kl > MAX_KL * 10 and base_gap > MAX_GAP * 3
    assert unpermuted_kl > MAX_KL and unpermuted_gap > MAX_GAP


def test_score_agrees_with_transformers(decider_twin, llama, transformers_backend):
    messages, options = decider_twin.messages, decider_twin.options
    expected = transformers_backend.score(messages, options)
    got = llama.score(messages, options)
    assert np.argsort(got).tolist() == np.argsort(expected).tolist()
    assert got.index(max(got)) == options.index(decider_twin.preferred)
    assert np.allclose(got, expected, atol=0.5), (got, expected)
    # The prompt is cached between calls and after a chat: the answer must not drift.
    llama.chat(messages, Sampling(max_tokens=4))
    assert llama.score(messages, options) == pytest.approx(got, abs=1e-3)
    assert llama.score(messages, list(reversed(options))) == pytest.approx(list(reversed(got)), abs=1e-3)


def test_chat_and_stream_agree(decider_twin, llama):
    messages = chat_messages(decider_twin.twin.persona, QUESTIONS[0])
    sampling = Sampling(max_tokens=24)
    reply = llama.chat(messages, sampling)
    assert reply.text and reply.text == reply.text.strip()
    assert reply.prompt_tokens == len(llama.prompter.encode(llama.prompter.render(messages)))
    assert 0 < reply.completion_tokens <= 24
    assert reply.finish_reason in ("stop", "length")
    *pieces, final = list(llama.stream(messages, sampling))
    assert all(isinstance(p, str) and p for p in pieces)
    assert isinstance(final, Generation)
    assert final == reply
    assert "".join(pieces).strip() == reply.text

    # A stop string ends the reply before it; the cut counts as a stop.
    words = reply.text.split()
    if len(words) > 2:
        cut = llama.chat(messages, Sampling(max_tokens=24, stop=(words[2],)))
        assert words[2] not in cut.text and cut.finish_reason == "stop"
        assert reply.text.startswith(cut.text)
    # Sampling is seeded.
    warm = Sampling(max_tokens=12, temperature=0.9, seed=5)
    assert llama.chat(messages, warm).text == llama.chat(messages, warm).text


def _break_adapter(version: Version, how: str) -> None:
    from safetensors.torch import load_file, save_file

    config_path = version.adapter_dir / "adapter_config.json"
    config = json.loads(config_path.read_text())
    if how == "lm_head":
        weights_path = version.adapter_dir / "adapter_model.safetensors"
        weights = load_file(weights_path)
        r = config["r"]
        weights["base_model.model.lm_head.lora_A.weight"] = torch.zeros(r, 576)
        weights["base_model.model.lm_head.lora_B.weight"] = torch.zeros(49152, r)
        save_file(weights, weights_path)
        config["target_modules"] = list(config["target_modules"]) + ["lm_head"]
    else:
        config["use_dora"] = True
    config_path.write_text(json.dumps(config))


@pytest.mark.parametrize(("how", "message"), [("lm_head", "lm_head"), ("dora", "DoRA")])
def test_unconvertible_adapter_is_refused(decider_twin, twin, tmp_path, how, message):
    from doppel.inference.backends.llamacpp import LlamaCppBackend
    from doppel.training.lora_gguf import AdapterExportError, adapter_gguf

    version = _copy_version(decider_twin.version, tmp_path)
    _break_adapter(version, how)
    with pytest.raises(AdapterExportError, match=message):
        adapter_gguf(version)
    with pytest.raises(BackendError, match=message):
        LlamaCppBackend.open(decider_twin.settings, twin, version)
    assert not (version.path / "export" / "adapter-lora.gguf").exists()


def test_export_is_reused_until_the_adapter_changes(decider_twin, tmp_path):
    from doppel.training.lora_gguf import adapter_gguf

    version = _copy_version(decider_twin.version, tmp_path)
    path = adapter_gguf(version)
    first = path.stat().st_mtime_ns
    assert adapter_gguf(version) == path and path.stat().st_mtime_ns == first
    config_path = version.adapter_dir / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["lora_alpha"] = config["lora_alpha"] * 2
    config_path.write_text(json.dumps(config))
    assert adapter_gguf(version).stat().st_mtime_ns != first
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


# --- decide on both in-process backends, what `auto` serves with, and the conversion at registration ----------

DECIDE_CASES = [
    ("New client wants 30% discount", ["Accept", "Counter-offer", "Decline"]),
    (
        "The prospect asks for net-90 payment terms on a first order",
        ["Accept", "Counter-offer", "Decline", "Escalate to the VP", "Ask for more time", "Offer a pilot"],
    ),
    # Situations the twin never learned: no option near certain, so the probabilities are a real comparison.
    ("Our top rep wants to move the deal to next quarter", ["Agree", "Push back", "Ask the VP"]),
    ("The VP wants a case study before approving the budget", ["Write one", "Send references", "Offer a pilot"]),
]
# How far llama.cpp's decide may be from transformers' on the same version. Both run the same weights (the HF
# ones are de-quantized from the Q4_1 GGUF llama.cpp serves, the adapter is f32 on both), but llama.cpp rounds
# the activations to 8 bits in its matrix products where transformers computes in fp32. Per token that moves
# the likely tokens' log-probabilities by 0.3-0.5 nats at most (MAX_GAP above), unlikely ones more; a pmi
# score adds that up over an option's tokens twice (the situation with the adapter, the neutral question
# without). Measured on these cases (2026-12-01): scores apart by up to 0.99 nats (an option at 0.05), option
# probabilities by up to 0.094 (0.712 vs 0.806), the same choice every time. The bounds are 1.5x that: wide
# enough for another CPU's rounding, while a broken reference (adapter left on for the neutral question, or
# the wrong q/k order) moves the scores by several nats and the choices with them.
MAX_SCORE_GAP = 1.5  # nats, per option's pmi score
MAX_PROBABILITY_GAP = 0.15  # per option's probability


def _on(config, backend: str):
    """The twin's config with ``inference.backend`` set to ``backend``."""
    return config.model_copy(update={"inference": config.inference.model_copy(update={"backend": backend})})


def _twin(settings, config, backend):
    """A Twin on an already open backend (not closed here: the module's fixtures own them)."""
    from doppel.twin import Twin

    return Twin(settings, config, backend, backend.prompter)


def test_decide_agrees_with_transformers(decider_twin, twin, llama, transformers_backend):
    on_hf = _twin(decider_twin.settings, decider_twin.twin, transformers_backend)
    on_cpp = _twin(decider_twin.settings, twin, llama)
    decided = []
    for situation, options in DECIDE_CASES:
        hf = on_hf.decide(situation, options, rationale=False)
        cpp = on_cpp.decide(situation, options, rationale=False)
        decided.append((hf, cpp))
        assert hf.scoring == cpp.scoring == "pmi" and (hf.backend, cpp.backend) == ("transformers", "llamacpp")
        score_gap = max(abs(hf.scores[o] - cpp.scores[o]) for o in options)
        probability_gap = max(abs(hf.probabilities[o] - cpp.probabilities[o]) for o in options)
        print(f"{situation!r}: {hf.choice} / {cpp.choice}, score gap {score_gap:.3f}, p gap {probability_gap:.3f}")
        ranked = sorted(hf.probabilities.values(), reverse=True)
        if ranked[0] - ranked[1] > 2 * MAX_PROBABILITY_GAP:  # a near tie may go either way within the bound
            assert cpp.choice == hf.choice, (situation, hf.probabilities, cpp.probabilities)
        assert score_gap < MAX_SCORE_GAP and probability_gap < MAX_PROBABILITY_GAP, (hf.scores, cpp.scores)
    hf, cpp = decided[0]
    assert cpp.choice == decider_twin.preferred and cpp.probabilities[decider_twin.preferred] > 0.5

    # Control: the reference taken with the adapter left on (pmi_self) is far outside the bound.
    on_cpp.config = twin.model_copy(
        update={"inference": twin.inference.model_copy(update={"decision_scoring": "pmi_self"})}
    )
    wrong = on_cpp.decide(*DECIDE_CASES[0], rationale=False)
    assert max(abs(hf.scores[o] - wrong.scores[o]) for o in hf.scores) > 3 * MAX_SCORE_GAP


def test_auto_serves_this_cpu_with_llamacpp(decider_twin, twin, monkeypatch):
    from doppel.inference import backends

    if backends.cuda_available():
        pytest.skip("a CUDA machine: auto serves with transformers there (tests/unit/test_backend_choice.py)")
    auto = _on(twin, "auto")
    served = backends.open_backend(decider_twin.settings, auto, decider_twin.version)
    try:
        assert served.kind == "llamacpp" and served.scores_base and served.version == "v1.0"
    finally:
        served.close()
    # Without llama_cpp, or for the bare base model, auto picks transformers.
    assert backends.choose_backend(auto, None).kind == "transformers"
    monkeypatch.setattr(backends, "llama_cpp_available", lambda: False)
    assert backends.choose_backend(auto, decider_twin.version).kind == "transformers"


def test_auto_falls_back_to_transformers_for_an_adapter_llamacpp_cannot_take(decider_twin, twin, tmp_path, caplog):
    import logging

    from doppel.inference import backends

    if backends.cuda_available():
        pytest.skip("a CUDA machine: auto serves with transformers there anyway")
    version = _copy_version(decider_twin.version, tmp_path)
    _break_adapter(version, "lm_head")  # PEFT loads a LoRA on lm_head; llama.cpp's converter refuses it
    auto = _on(twin, "auto")
    with caplog.at_level(logging.INFO, logger="doppel.inference.backends"):
        served = backends.open_backend(decider_twin.settings, auto, version)
    try:
        assert served.kind == "transformers" and served.version == version.name
        assert "served by transformers" in caplog.text and "lm_head" in caplog.text
    finally:
        served.close()


def test_registration_leaves_the_adapter_gguf_in_the_version(decider_twin, twin, tmp_path, caplog):
    """What the pipeline runs right after registering a version: the first open then converts nothing."""
    import logging

    from doppel.inference import backends
    from doppel.pipeline import prepare_serving
    from doppel.registry import Registry

    version = _copy_version(decider_twin.version, tmp_path)
    gguf = version.path / "export" / "adapter-lora.gguf"
    llamacpp = _on(twin, "llamacpp")
    assert prepare_serving(llamacpp, version) == gguf and gguf.is_file()
    assert Registry(tmp_path / "models").verify(version) == []  # derived, outside the manifest
    made = gguf.stat().st_mtime_ns
    served = backends.open_backend(decider_twin.settings, llamacpp, version)
    try:
        assert served.kind == "llamacpp"
    finally:
        served.close()
    assert gguf.stat().st_mtime_ns == made  # reused, not converted again on first open

    # A version transformers serves gets nothing; one that cannot convert costs a warning, never the run.
    assert prepare_serving(_on(twin, "transformers"), _copy_version(decider_twin.version, tmp_path / "other")) is None
    broken = _copy_version(decider_twin.version, tmp_path / "broken")
    _break_adapter(broken, "dora")
    with caplog.at_level(logging.WARNING, logger="doppel.pipeline"):
        assert prepare_serving(llamacpp, broken) is None
    assert "DoRA" in caplog.text and not (broken.path / "export" / "adapter-lora.gguf").exists()


# --- option scoring on contexts of its own: one batch of options, the prompt read past the shared prefix -------


def _one_by_one(backend, messages, options) -> list[float]:
    """Each option decoded alone after the prompt on the generation context (what scoring did before)."""
    totals = []
    for option in options:
        answer = backend.prompter.answer_text(option)
        rows = backend.logprobs(messages, answer)
        tokens = backend.encode(answer)
        totals.append(float(rows[np.arange(len(tokens)), tokens].sum()))
    return totals


def test_scoring_contexts_equal_the_generation_context_and_reuse_the_shared_prefix(decider_twin, twin, llama):
    from doppel.inference.backends.llamacpp import LlamaCppBackend
    from doppel.inference.backends.llamacpp_scoring import ScoringContext

    persona = decider_twin.twin.persona
    situation, options = DECIDE_CASES[1]
    messages = chat_messages(persona, situation)
    expected = _one_by_one(llama, messages, options)
    assert llama.score(messages, options) == pytest.approx(expected, abs=1e-3)
    assert llama.score(messages, options[::-1]) == pytest.approx(expected[::-1], abs=1e-3)
    scorer = ScoringContext(llama.llm, llama._adapter, scale=llama.llm.lora_scale)
    try:
        prompt, answers = llama._scoring_tokens(messages, options)
        assert scorer.score(prompt, answers) == pytest.approx(expected, abs=1e-3)
        read = scorer.read
        assert read == len(prompt) - 1
        # A second situation for the same twin reads only what follows the prompt they share (the system
        # prompt at least), and is scored as if read afresh.
        other, other_options = chat_messages(persona, DECIDE_CASES[2][0]), DECIDE_CASES[2][1]
        prompt2, answers2 = llama._scoring_tokens(other, other_options)
        shared = next(i for i, (a, b) in enumerate(zip(prompt, prompt2)) if a != b)
        assert shared > 20
        again = scorer.score(prompt2, answers2)
        assert scorer.read - read == len(prompt2) - 1 - shared
        assert again == pytest.approx(_one_by_one(llama, other, other_options), abs=1e-3)
        scorer.forget()
        assert scorer.score(prompt2, answers2) == pytest.approx(again, abs=1e-3)
        assert scorer.read - read == 2 * (len(prompt2) - 1) - shared
    finally:
        scorer.close()
    # The base model's side (no adapter) is a context of its own: it does not disturb the twin's.
    base = llama.score_base(messages, options)
    bare = LlamaCppBackend.open(decider_twin.settings, twin, None)
    try:
        assert base == pytest.approx(_one_by_one(bare, messages, options), abs=1e-3)
    finally:
        bare.close()
    assert base != pytest.approx(expected, abs=0.1)
    assert llama.score(messages, options) == pytest.approx(expected, abs=1e-3)


def test_the_pmi_reference_is_kept_per_option_list_and_is_exact(decider_twin, llama, monkeypatch):
    from doppel.inference.decisions import References, neutral_messages, option_scores

    persona, prompter = decider_twin.twin.persona, llama.prompter
    calls = []
    score_base = llama.score_base
    monkeypatch.setattr(llama, "score_base", lambda m, o: calls.append(list(o)) or score_base(m, o))
    kept = References()

    def scores(situation, options, references):
        messages = chat_messages(persona, situation)
        neutral = neutral_messages(persona, options)
        return option_scores(llama, prompter, messages, options, neutral=neutral, references=references)

    (first, options), (second, _) = DECIDE_CASES[0], DECIDE_CASES[2]
    got = scores(first, options, kept), scores(second, options, kept)
    assert calls == [options] and len(kept) == 1  # the second situation reused the reference
    assert got[1] == pytest.approx(scores(second, options, None), abs=1e-9)  # the same as computing it
    scores(first, options[::-1], kept)
    assert len(calls) == 3 and len(kept) == 2  # another order is another question: its own reference
    small = References(size=1)
    scores(first, options, small), scores(first, DECIDE_CASES[2][1], small)
    assert len(small) == 1
