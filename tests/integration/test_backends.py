"""One suite, every backend: the same trained twin must answer alike however it is served.

Backends: in-process transformers; in-process llama.cpp on the base GGUF plus the
adapter converted to a GGUF LoRA; the Ollama backend against a local server that
enforces Ollama's documented protocol (Ollama itself does not install here),
answering with llama.cpp on the same files; the OpenAI-compatible backend against
the real llama.cpp server (`llama_cpp.server`).
"""

from __future__ import annotations

import contextlib

import pytest

from doppel.inference.backend import Generation, Sampling

BACKENDS = ["transformers", "llamacpp", "ollama-protocol-server", "openai-llamacpp-server"]


def _settings_for(decider_twin, backend: str, **inference):
    twin = decider_twin.twin.model_copy(
        update={"inference": decider_twin.twin.inference.model_copy(update={"backend": backend, **inference})}
    )
    return decider_twin.settings.model_copy(update={"twins": [twin]}), twin


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, decider_twin):
    """(backend name, a doppel Twin on that backend) for the decider twin's v1.0."""
    from doppel.training.base_models import smollm2_gguf
    from doppel.training.lora_gguf import adapter_gguf
    from doppel.twin import Twin
    from tests.fakes.llamacpp_server import llamacpp_openai_server
    from tests.fakes.ollama_server import ollama_protocol_server

    with contextlib.ExitStack() as stack:
        name = request.param
        if name in ("transformers", "llamacpp"):
            settings, twin = _settings_for(decider_twin, name)
        else:
            lora = adapter_gguf(decider_twin.version)
            if name == "ollama-protocol-server":
                url = stack.enter_context(ollama_protocol_server(smollm2_gguf(), lora, "allan-maverick"))
                settings, twin = _settings_for(decider_twin, "ollama", hosts=[url])
            else:
                url = stack.enter_context(llamacpp_openai_server(smollm2_gguf(), lora, "allan-maverick"))
                settings, twin = _settings_for(decider_twin, "openai", hosts=[url])
        loaded = Twin.load(twin.name, config=settings)
        stack.callback(loaded.close)
        yield name, loaded


def test_chat_answers_and_counts(served):
    name, twin = served
    reply = twin.chat("Write an email to Dana about the renewal.", max_tokens=24)
    assert reply.text.strip(), name
    assert reply.backend == twin.config.inference.backend and reply.version == "v1.0"
    assert 20 < reply.prompt_tokens < 200 and 0 < reply.completion_tokens <= 24
    assert reply.finish_reason in ("stop", "length")


def test_a_length_cap_is_a_length_finish(served):
    _, twin = served
    reply = twin.chat("Write an email to Priya about pricing, with three paragraphs.", max_tokens=4)
    assert reply.completion_tokens == 4 and reply.finish_reason == "length"


def test_stream_pieces_make_the_same_reply(served):
    name, twin = served
    items = list(twin.stream("Write an email to Bob about the pilot.", max_tokens=20))
    *pieces, final = items
    assert all(isinstance(p, str) for p in pieces) and len(pieces) >= 2, name
    assert not isinstance(final, str) and final.text == "".join(pieces).strip()
    assert final.text == twin.chat("Write an email to Bob about the pilot.", max_tokens=20).text


@pytest.fixture(scope="module")
def reference_scores(decider_twin):
    """Option scores from transformers on the HF weights: what every backend approximates."""
    from doppel.twin import Twin

    with Twin.load(decider_twin.twin.name, config=decider_twin.settings, backend="transformers") as twin:
        return (
            twin.backend.score(decider_twin.messages, decider_twin.options),
            twin.backend.score_base(decider_twin.messages, decider_twin.options),
        )


def test_transformers_scores_options_in_one_batch_as_one_at_a_time(decider_twin):
    """The prompt read once and its cache shared by every option's row equals scoring each option on its own
    (prompt + option, one full forward pass each), whatever the options' lengths and order, twin and base."""
    import torch

    from doppel.twin import Twin

    options = ["Accept", "Counter-offer at 15% with a two-year term and quarterly billing", "Decline", "No"]
    with Twin.load(decider_twin.twin.name, config=decider_twin.settings, backend="transformers") as twin:
        backend = twin.backend
        prompter, local = backend.prompter, backend.local
        prompt = prompter.encode(prompter.render(decider_twin.messages))

        def alone(option: str) -> float:
            answer = prompter.encode(prompter.answer_text(option))
            with torch.no_grad():
                logits = local.model(input_ids=torch.tensor([prompt + answer])).logits[0].float()
            logprobs = torch.log_softmax(logits, dim=-1)
            return float(sum(logprobs[len(prompt) - 1 + i, t] for i, t in enumerate(answer)))

        expected = [alone(o) for o in options]
        assert backend.score(decider_twin.messages, options) == pytest.approx(expected, abs=1e-3)
        assert backend.score(decider_twin.messages, options[::-1]) == pytest.approx(expected[::-1], abs=1e-3)
        with local.base_model_only():
            expected_base = [alone(o) for o in options]
        assert backend.score_base(decider_twin.messages, options) == pytest.approx(expected_base, abs=1e-3)
        assert max(abs(a - b) for a, b in zip(expected, expected_base, strict=True)) > 0.1  # the adapter counts


def test_scores_put_the_learned_option_first(served, decider_twin, reference_scores):
    name, twin = served
    reference_scores, _ = reference_scores
    scores = twin.backend.score(decider_twin.messages, decider_twin.options)
    assert len(scores) == 3 and all(s < 0 for s in scores), (name, scores)
    assert decider_twin.options[scores.index(max(scores))] == decider_twin.preferred, (name, scores)
    if name != "ollama-protocol-server":
        # Exact scoring (batched pass, llama.cpp's cached prefix, or the server's echoed log-probs) on the same
        # weights: only the Q4 base's rounding separates it from transformers. Ollama's walk is bounded instead.
        assert all(abs(a - b) < 1.0 for a, b in zip(scores, reference_scores)), (name, scores, reference_scores)


def test_decide_agrees_across_backends(served, decider_twin):
    name, twin = served
    decision = twin.decide("New client wants 30% discount", decider_twin.options, rationale=False)
    assert decision.choice == decider_twin.preferred, (name, decision.probabilities)
    assert decision.probabilities[decider_twin.preferred] > 0.5


def test_pmi_takes_the_base_model_as_reference_where_the_adapter_can_be_switched_off(
    served, decider_twin, reference_scores
):
    name, twin = served
    twin_reference, base_reference = reference_scores
    decision = twin.decide("New client wants 30% discount", decider_twin.options, rationale=False)
    if name in ("transformers", "llamacpp"):
        assert twin.backend.scores_base and decision.scoring == "pmi", name
        base = twin.backend.score_base(decider_twin.messages, decider_twin.options)
        assert all(abs(a - b) < 1.0 for a, b in zip(base, base_reference)), (name, base, base_reference)
        # The adapter is what separates them (training moved the learned option by nats, not rounding)...
        assert max(abs(a - b) for a, b in zip(base_reference, twin_reference)) > 1.0
        # ...and it is back on afterwards: the next twin score is the twin's, not the base model's.
        after = twin.backend.score(decider_twin.messages, decider_twin.options)
        assert all(abs(a - b) < 1.0 for a, b in zip(after, twin_reference)), (name, after, twin_reference)
    else:
        # A server holds only the twin: the twin's own neutral answer is the reference, and the decision says so.
        assert not twin.backend.scores_base and decision.scoring == "pmi_self", name


def test_backend_protocol(served):
    from doppel.inference.backend import Backend

    name, twin = served
    assert isinstance(twin.backend, Backend)
    generation = twin.backend.chat(twin.messages_for("Hi"), Sampling(max_tokens=3))
    assert isinstance(generation, Generation)
