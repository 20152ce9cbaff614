"""The scorecard's batched greedy decoding: the same tokens as transformers' ``generate``, for less work.

``generate_replies`` prefills prompts in small groups and drops a row from the batch once its reply has
ended; neither may change a single token. The reference is ``model.generate`` on one left-padded batch with
the same anti-looping processors, on a real (tiny, random) Llama.
"""

from __future__ import annotations

import functools

import pytest
import torch

from doppel.evaluation import replies
from doppel.evaluation.replies import generate_replies
from doppel.inference.anti_loop import reply_processors
from doppel.inference.prompting import Prompter

NEW_TOKENS = 10


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()


def _prompts(prompter: Prompter) -> list[list[int]]:
    """Eleven prompts of very different lengths, sorted as generate_replies sorts them."""
    words = "please send the revised schedule for the west desk before friday and copy legal".split()
    conversations = [
        [{"role": "user", "content": " ".join(words[: 1 + (7 * i) % len(words)] * (1 + i % 3))}] for i in range(11)
    ]
    encoded = [prompter.encode(prompter.render(c)) for c in conversations]
    return sorted(encoded, key=len)


def _generate(model, encoded: list[list[int]], pad: int, end_ids: set[int]) -> list[list[int]]:
    width = max(len(e) for e in encoded)
    ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, tokens in enumerate(encoded):
        ids[r, width - len(tokens) :] = torch.tensor(tokens)
        mask[r, width - len(tokens) :] = 1
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=NEW_TOKENS,
            do_sample=False,
            logits_processor=reply_processors(width),
            pad_token_id=pad,
            eos_token_id=sorted(end_ids) or None,
        )
    return [_to_end(out[r, width:].tolist(), end_ids) for r in range(len(encoded))]


def _to_end(tokens: list[int], end_ids: set[int]) -> list[int]:
    cut = next((k for k, t in enumerate(tokens) if t in end_ids), len(tokens) - 1)
    return tokens[: cut + 1]


def test_grouped_prefill_and_early_exits_give_generates_tokens(model, tokenizer, monkeypatch):
    prompter = Prompter(tokenizer, 1024)
    encoded = _prompts(prompter)
    pad = tokenizer.pad_token_id
    assert len({len(e) for e in encoded}) > 5  # the groups really have different widths
    free = _generate(model, encoded, pad, set())
    # End tokens that the rows write at different steps, so rows leave the batch one after another.
    end_ids = {row[2 + r % (NEW_TOKENS - 3)] for r, row in enumerate(free)}
    reference = _generate(model, encoded, pad, end_ids)
    lengths = sorted({len(r) for r in reference})
    assert len(lengths) >= 3 and lengths[0] < NEW_TOKENS

    batch_rows: list[int] = []
    model_forward = model.forward

    @functools.wraps(model_forward)  # keeps the signature the decoder reads its keywords from
    def counting_forward(*args, **kwargs):
        batch_rows.append(kwargs["input_ids"].shape[0])
        return model_forward(*args, **kwargs)

    monkeypatch.setattr(model, "forward", counting_forward)
    monkeypatch.setattr(replies, "PREFILL_ROWS", 3)
    with torch.no_grad():
        ours = replies._greedy(model, encoded, pad, NEW_TOKENS, end_ids, True)
    assert [_to_end(r, end_ids) for r in ours] == reference
    # Prompts went through in groups of three; then the batch shrank as replies ended, never grew.
    prefill, decode = batch_rows[:4], batch_rows[4:]
    assert prefill == [3, 3, 3, 2]
    assert decode == sorted(decode, reverse=True) and decode[0] <= len(encoded) and decode[-1] < decode[0]
    assert len(decode) == max(lengths) - 1


def test_replies_come_back_in_the_callers_order(model, tokenizer):
    prompter = Prompter(tokenizer, 1024)
    conversations = [[{"role": "user", "content": f"reply number {i}: " + "word " * (i * 3)}] for i in range(7)]
    conversations.reverse()  # longest first: the batch sorts them, the result must not
    got = generate_replies(model, prompter, conversations, max_new_tokens=NEW_TOKENS, batch_size=4)
    end = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids(prompter.end_of_turn)}
    for conversation, text in zip(conversations, got.texts, strict=True):
        alone = _generate(model, [prompter.encode(prompter.render(conversation))], tokenizer.pad_token_id, end)[0]
        assert text == tokenizer.decode([t for t in alone if t not in end], skip_special_tokens=True).strip()
    assert got.new_tokens > 0
