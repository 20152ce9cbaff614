import pytest
import torch

from doppel.dataset.packing import batches, pack, steps_per_epoch
from doppel.dataset.tokenize import TokenizedExample


def examples(lengths, vocab=2000, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i, n in enumerate(lengths):
        ids = torch.randint(10, vocab, (n,), generator=g).tolist()
        out.append(TokenizedExample(ids, [-100] * (n // 2) + ids[n // 2 :], False, f"k{i}"))
    return out


def tiny_model():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=2000,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        attn_implementation="sdpa",
    )
    return LlamaForCausalLM(cfg).eval()


def test_pack_layout():
    exs = examples([5, 3, 4])
    p = pack(exs)
    assert p.input_ids.shape == (1, 12) and p.attention_mask.shape == (1, 1, 12, 12)
    assert p.position_ids[0].tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 2, 3]
    mask = p.attention_mask[0, 0]
    assert mask[6, 5] and mask[6, 6] and not mask[6, 4] and not mask[5, 6]  # own example, causal
    assert p.n_target == sum(e.n_target for e in exs)


@torch.no_grad()
def test_packed_logits_equal_one_at_a_time():
    model = tiny_model()
    exs = examples([17, 9, 30, 4])
    p = pack(exs)
    packed = model(input_ids=p.input_ids, position_ids=p.position_ids, attention_mask=p.attention_mask).logits[0]
    offset = 0
    for ex in exs:
        alone = model(input_ids=torch.tensor([ex.input_ids])).logits[0]
        assert torch.allclose(packed[offset : offset + len(ex)], alone, atol=1e-4)
        offset += len(ex)


@torch.no_grad()
def test_without_the_block_mask_examples_would_leak_into_each_other():
    model = tiny_model()
    exs = examples([10, 10])
    p = pack(exs)
    leaky = model(input_ids=p.input_ids, position_ids=p.position_ids).logits[0, 10:]
    alone = model(input_ids=torch.tensor([exs[1].input_ids])).logits[0]
    assert not torch.allclose(leaky, alone, atol=1e-3)


def test_batches_cover_every_example_once_and_shuffle_by_seed():
    exs = examples([3] * 10)
    seen = [p.input_ids[0].tolist() for p in batches(exs, 4, seed=1)]
    assert len(seen) == steps_per_epoch(10, 4) == 3
    flat = sorted(sum(seen, []))
    assert flat == sorted(sum((e.input_ids for e in exs), []))
    order_a = [p.input_ids[0, 0].item() for p in batches(exs, 1, seed=1)]
    order_b = [p.input_ids[0, 0].item() for p in batches(exs, 1, seed=2)]
    assert order_a != order_b


def packed_attention_model():
    from doppel.training.attention import register

    model = tiny_model()
    model.set_attn_implementation(register())
    return model


@torch.no_grad()
def test_packed_attention_without_a_mask_equals_one_at_a_time():
    model = packed_attention_model()
    exs = examples([17, 9, 30, 1, 4])
    p = pack(exs)
    packed = model(input_ids=p.input_ids, position_ids=p.position_ids).logits[0]
    offset = 0
    for ex in exs:
        alone = tiny_model()(input_ids=torch.tensor([ex.input_ids])).logits[0]
        assert torch.allclose(packed[offset : offset + len(ex)], alone, atol=1e-4)
        offset += len(ex)


def test_packed_attention_gradients_equal_the_block_mask_ones():
    exs = examples([12, 20, 7])
    p = pack(exs)
    grads = []
    for model in (tiny_model().train(), packed_attention_model().train()):
        mask = None if model.config._attn_implementation != "sdpa" else p.attention_mask
        out = model(input_ids=p.input_ids, position_ids=p.position_ids, attention_mask=mask, labels=p.labels)
        out.loss.backward()
        grads.append(model.model.layers[0].self_attn.q_proj.weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


@torch.no_grad()
def test_packed_attention_keeps_padding_masks_and_the_kv_cache_as_sdpa_does():
    """Batched generation (left padding, a KV cache) goes through transformers' SDPA unchanged."""
    ids = torch.tensor([[0, 0, 0, 15, 16, 17], [21, 22, 23, 24, 25, 26]])
    mask = torch.tensor([[0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    kwargs = {"max_new_tokens": 5, "do_sample": False, "pad_token_id": 0}
    plain = tiny_model().generate(input_ids=ids, attention_mask=mask, **kwargs)
    packed = packed_attention_model().generate(input_ids=ids, attention_mask=mask, **kwargs)
    assert torch.equal(plain, packed)


def _saved_for_backward(model, p, *, mask) -> int:
    """Bytes autograd keeps for the backward pass of one forward over pack ``p``."""
    total = [0]

    def keep(t):
        total[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        # The decoder only: the LM head's logits are linear in the pack either way and would hide the attention.
        model.model(input_ids=p.input_ids, position_ids=p.position_ids, attention_mask=mask)
    return total[0]


def test_packed_attention_memory_is_linear_in_the_pack_and_the_block_mask_is_not():
    small, big = pack(examples([64] * 8)), pack(examples([64] * 32))  # 512 and 2048 positions
    linear = [_saved_for_backward(packed_attention_model().train(), p, mask=None) for p in (small, big)]
    masked = [_saved_for_backward(tiny_model().train(), p, mask=p.attention_mask) for p in (small, big)]
    # 4x the positions: per-example attention keeps 4x the bytes. With the L×L mask SDPA keeps a float copy of
    # the mask per layer on top, and that extra grows 16x: quadratic.
    print(f"saved for backward, 512 -> 2048 positions: per example {linear}, L×L mask {masked}")
    assert linear[1] / linear[0] < 4.2
    assert (masked[1] - linear[1]) / (masked[0] - linear[0]) > 12


def test_a_token_budget_fills_packs_up_to_the_budget_and_covers_every_example_once():
    from doppel.dataset.packing import plan

    lengths = [
        random_length
        for random_length in torch.randint(20, 400, (300,), generator=torch.Generator().manual_seed(3)).tolist()
    ]
    lengths[7] = 2000  # longer than the budget: trains alone
    packs = plan(lengths, 4, seed=5, pack_tokens=1024)
    assert sorted(i for p in packs for i in p) == list(range(300))
    assert all(sum(lengths[i] for i in p) <= 1024 or len(p) == 1 for p in packs)
    assert [7] in packs
    # First-fit decreasing: the budget is mostly used (a fixed 4 per pack would make packs from 80 to 1600).
    used = sum(lengths) / (1024 * len(packs))
    assert used > 0.9
    assert plan(lengths, 4, seed=5, pack_tokens=1024) == packs  # the seed fixes it (resuming needs that)
    assert plan(lengths, 4, seed=6, pack_tokens=1024) != packs


def test_the_loss_in_chunks_equals_the_loss_in_one_pass_with_the_same_gradients():
    from doppel.training.loss import pack_loss

    exs = examples([40, 25, 33])
    p = pack(exs)
    results = []
    for chunk_elements in (10**9, 2000 * 7):  # one pass; chunks of 7 positions of the 2000-word vocabulary
        model = packed_attention_model().train()
        loss, n = pack_loss(model, p, chunk_elements=chunk_elements)
        loss.backward()
        results.append((loss.item(), n, model.model.layers[1].mlp.up_proj.weight.grad.clone()))
    (one, n1, g1), (chunked, n2, g2) = results
    assert n1 == n2 == sum(e.n_target for e in exs)  # every supervised token counted once
    assert abs(one - chunked) < 1e-3 * abs(one)
    assert torch.allclose(g1, g2, atol=1e-5)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_gradient_checkpointing_gives_the_same_lora_gradients(dropout):
    """With dropout too: the recomputed forward draws the same masks, shared by q/k/v and gate/up alike."""
    from doppel.config import LoraConfig
    from doppel.training.lora import add_lora
    from doppel.training.loss import pack_loss

    p = pack(examples([30, 22, 41]))
    grads = []
    for checkpointing in (False, True):
        torch.manual_seed(3)
        lora = LoraConfig(r=4, alpha=8, dropout=dropout)
        model = add_lora(packed_attention_model(), lora, checkpointing=checkpointing)
        model.train()
        assert model.get_base_model().is_gradient_checkpointing is checkpointing
        loss, _ = pack_loss(model, p)
        loss.backward()
        grads.append(torch.cat([q.grad.flatten() for n, q in model.named_parameters() if "lora_B" in n]))
    assert grads[0].abs().sum() > 0 and torch.allclose(grads[0], grads[1], atol=1e-5)


def test_summed_cross_entropy_equals_torchs_with_the_same_gradients():
    import torch.nn.functional as F

    from doppel.training.loss import summed_cross_entropy

    torch.manual_seed(3)
    labels = torch.randint(0, 500, (37,))
    for dtype in (torch.float32, torch.bfloat16):
        logits = (torch.randn(37, 500) * 4).to(dtype)
        ours, theirs = logits.clone().requires_grad_(), logits.clone().requires_grad_()
        got = summed_cross_entropy(ours, labels)
        want = F.cross_entropy(theirs.float(), labels, reduction="sum")
        (got * 0.5).backward()
        (want * 0.5).backward()
        assert got.dtype == torch.float32 and torch.allclose(got, want, rtol=1e-5)
        assert ours.grad.dtype == dtype
        tol = 1e-6 if dtype == torch.float32 else 1e-2
        assert torch.allclose(ours.grad.float(), theirs.grad.float(), atol=tol)
        assert ours.grad.float().abs().sum() > 0
