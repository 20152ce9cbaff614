"""Anti-looping guards for replies: one setting for every backend.

A small model decoding greedily loops ("no no no ..."). Two guards stop it: a
mild repetition penalty, and a ban on repeating any three-token run. Both look
only at the reply being written. Transformers' built-in versions also count
the prompt, which forbids the twin to quote the email it answers ("either Dan
or Gregg") or the points it was asked to make; people quote what they answer
all the time, so that ban made replies vaguer than the person's own.

The settings are ``Sampling``'s. llama.cpp and Ollama take the penalty as a
number (their window is the last 64 tokens); the in-process backends use
``reply_processors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from doppel.inference.backend import Sampling

if TYPE_CHECKING:  # torch and transformers load only where a model runs in-process, not for llama.cpp
    import torch
    from transformers import LogitsProcessorList


class ReplyAntiLoop:
    """Repetition penalty and repeated-n-gram ban over the tokens after ``start`` (the reply) only."""

    def __init__(
        self, start: int, penalty: float = Sampling.repetition_penalty, ngram: int = Sampling.no_repeat_ngram
    ) -> None:
        self.start = start
        self.penalty = penalty
        self.ngram = ngram

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        import torch

        reply = input_ids[:, self.start :]
        if reply.shape[1] == 0:
            return scores
        if self.penalty != 1.0:
            seen = torch.gather(scores, 1, reply)
            seen = torch.where(seen < 0, seen * self.penalty, seen / self.penalty)
            scores = scores.scatter(1, reply, seen)
        n = self.ngram
        if n > 0 and reply.shape[1] >= n:
            # Every n-gram of the reply so far; ban the token that would complete one whose first n-1
            # tokens match the reply's last n-1.
            grams = reply.unfold(1, n, 1)  # (batch, count, n)
            tail = reply[:, reply.shape[1] - (n - 1) :].unsqueeze(1)  # (batch, 1, n-1)
            hits = (grams[:, :, :-1] == tail).all(dim=2)  # (batch, count)
            for row, count in zip(*hits.nonzero(as_tuple=True)):
                scores[row, grams[row, count, -1]] = float("-inf")
        return scores


def reply_processors(prompt_width: int, *, ngram: int = Sampling.no_repeat_ngram) -> LogitsProcessorList:
    """The anti-looping guards for a batch whose prompts all end at ``prompt_width`` (left padding)."""
    from transformers import LogitsProcessorList

    return LogitsProcessorList([ReplyAntiLoop(prompt_width, ngram=ngram)])
