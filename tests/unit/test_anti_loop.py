"""The anti-looping guards look at the reply only: quoting the prompt is allowed, looping is not."""

import torch

from doppel.inference.anti_loop import ReplyAntiLoop


def test_a_trigram_repeated_within_the_reply_is_banned():
    # prompt [7, 8], reply [1, 2, 3, 1, 2]: the next token may not be 3 (it would repeat "1 2 3").
    ids = torch.tensor([[7, 8, 1, 2, 3, 1, 2]])
    scores = ReplyAntiLoop(start=2, penalty=1.0)(ids, torch.zeros(1, 10))
    assert scores[0, 3] == float("-inf")
    assert torch.isfinite(scores[0, [0, 1, 2, 4, 5, 6, 7, 8, 9]]).all()


def test_quoting_the_prompt_is_not_banned_or_penalised():
    # The prompt holds "4 5 6" and the reply has just written "4 5": 6 stays allowed, and unpenalised.
    ids = torch.tensor([[4, 5, 6, 9, 4, 5]])
    scores = ReplyAntiLoop(start=3)(ids, torch.ones(1, 10))
    assert scores[0, 6] == 1.0
    assert scores[0, 4] < 1.0 and scores[0, 9] < 1.0  # tokens the reply used are penalised


def test_the_penalty_pushes_negative_and_positive_logits_down():
    ids = torch.tensor([[0, 1, 2]])
    scores = ReplyAntiLoop(start=1, penalty=2.0, ngram=0)(ids, torch.tensor([[5.0, 4.0, -4.0, 3.0]]))
    assert scores.tolist() == [[5.0, 2.0, -8.0, 3.0]]


def test_rows_are_guarded_independently():
    ids = torch.tensor([[1, 2, 1, 2], [1, 2, 3, 4]])
    scores = ReplyAntiLoop(start=0, penalty=1.0)(ids, torch.zeros(2, 5))
    assert scores[0, 1] == float("-inf") and torch.isfinite(scores[1]).all()


def test_a_vanishing_temperature_is_greedy_not_a_nan():
    from doppel.inference.backend import Sampling

    assert Sampling(temperature=5e-324).temperature == 0.0  # once a 500: logits / 5e-324 overflow
    assert Sampling(temperature=0.7).temperature == 0.7
