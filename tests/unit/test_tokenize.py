from doppel.dataset.examples import Example
from doppel.dataset.tokenize import FALLBACK_CHAT_TEMPLATE, encode, ensure_chat_template


def example(answer: str, prompt: str = "Acme wants 30% off. What do we say?") -> Example:
    return Example(
        messages=(
            {"role": "system", "content": "You are Allan Maverick."},
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ),
        split="train",
        source="conversations",
        source_id="1",
    )


def test_only_the_persons_answer_is_labelled(tokenizer):
    answer = "Counter at 12% with an annual prepay. Bottom line."
    tok = encode(tokenizer, example(answer), 512)
    labelled = [t for t in tok.labels if t != -100]
    text = tokenizer.decode(labelled)
    assert text.startswith(answer)
    assert "<|im_end|>" in text  # the model learns where to stop
    assert "30% off" not in text and "Allan Maverick" not in text
    # the prompt part, decoded, holds the question and the template's turn markers
    prompt = tokenizer.decode(tok.input_ids[: tok.labels.index(labelled[0])])
    assert "30% off" in prompt and prompt.endswith("<|im_start|>assistant\n")


def test_encoding_matches_the_models_own_chat_template(tokenizer):
    ex = example("Not a fan.")
    tok = encode(tokenizer, ex, 512)
    rendered = tokenizer.apply_chat_template(list(ex.messages), tokenize=False)
    assert tokenizer.decode(tok.input_ids) == rendered


def test_truncation_keeps_system_turn_end_of_prompt_and_start_of_answer(tokenizer):
    long_prompt = "context " * 400 + "THE QUESTION?"
    tok = encode(tokenizer, example("short answer here " * 50, long_prompt), 128)
    assert len(tok) <= 128 and tok.truncated
    text = tokenizer.decode(tok.input_ids)
    assert text.startswith("<|im_start|>system\nYou are Allan Maverick.")
    assert "THE QUESTION?" in text
    assert tok.n_target >= 64  # the answer keeps at least half the window


def test_fallback_template_for_a_tokenizer_without_one(tokenizer):
    import copy

    bare = copy.deepcopy(tokenizer)
    bare.chat_template = None
    assert ensure_chat_template(bare) is True
    assert bare.chat_template == FALLBACK_CHAT_TEMPLATE
    assert ensure_chat_template(bare) is False
    assert encode(bare, example("Fine by me."), 256).n_target > 0
