"""In-process inference with transformers: base model plus a version's LoRA adapter."""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext

import torch

from doppel.config import Settings, TwinConfig
from doppel.inference.anti_loop import reply_processors
from doppel.inference.backend import Generation
from doppel.registry import Registry, Version
from doppel.training.base_models import ResolvedBase, load_tokenizer, resolve_base_model
from doppel.training.lora import load_adapter, load_base

log = logging.getLogger(__name__)


class LocalTwin:
    """A model ready to answer: the base with an adapter, or the bare base when ``version`` is None."""

    def __init__(self, model, tokenizer, *, version: Version | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.version = version
        self.model.eval()
        # One generation at a time per model: the adapter switch is model-wide state.
        self.lock = threading.RLock()

    @classmethod
    def load(cls, settings: Settings, twin: TwinConfig, version: str | None = "final") -> LocalTwin:
        base = resolve_base_model(twin.base_model, settings.home)
        if version is None:
            return cls(load_base(base), load_tokenizer(base))
        found = Registry(settings.resolved_models_dir).get(twin.name, version)
        return cls.from_version(base, found)

    @classmethod
    def from_version(cls, base: ResolvedBase, version: Version) -> LocalTwin:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(version.tokenizer_dir)
        model = load_adapter(load_base(base), version.adapter_dir)
        return cls(model, tokenizer, version=version)

    def base_model_only(self):
        """Context in which the adapter is switched off: the base model's own answers."""
        disable = getattr(self.model, "disable_adapter", None)
        return disable() if disable is not None and self.version is not None else nullcontext()

    @torch.no_grad()
    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_new_tokens: int = 200,
        temperature: float = 0.0,
        seed: int = 0,
        stop: tuple[str, ...] | list[str] = (),
        streamer=None,
    ) -> Generation:
        with self.lock:
            return self._generate(messages, max_new_tokens, temperature, seed, tuple(stop), streamer)

    def _generate(self, messages, max_new_tokens: int, temperature: float, seed: int, stop, streamer) -> Generation:
        prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
        ids = ids.to(next(self.model.parameters()).device)
        if temperature > 0:
            sampling = {"do_sample": True, "temperature": temperature, "top_p": 0.9}
            sampling["logits_processor"] = reply_processors(ids.shape[1], ngram=0)
            torch.manual_seed(seed)
        else:
            # Greedy decoding of a small model loops ("no no no ..."); forbidding a
            # repeated 3-gram stops that without the randomness of sampling.
            sampling = {"do_sample": False, "logits_processor": reply_processors(ids.shape[1])}
        if stop:
            sampling.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        if streamer is not None:
            sampling["streamer"] = streamer
        out = self.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
            **sampling,
        )
        new = out[0, ids.shape[1] :]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        for s in stop:  # generate stops after the stop string; the reply should not contain it
            text = text.split(s, 1)[0]
        ended = new.numel() > 0 and int(new[-1]) == self.tokenizer.eos_token_id
        finish = "stop" if ended or stop and len(new) < max_new_tokens else "length"
        return Generation(
            text=text.strip(),
            prompt_tokens=int(ids.shape[1]),
            completion_tokens=int(new.shape[0]),
            finish_reason=finish,
        )
