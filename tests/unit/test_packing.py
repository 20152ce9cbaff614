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
