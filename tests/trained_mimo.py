"""A small MiMo-V2.5 text checkpoint with *trained* weights, in the two layouts the engine must load.

    python3 tests/trained_mimo.py [OUT]          # prints the folder; OUT/bf16 and OUT/fp8 (symlinks to the cache)
    from trained_mimo import build; paths = build()   # {"bf16": Path, "fp8": Path, "root": Path}

Built from nothing on the CPU, deterministically (fixed seeds, deterministic algorithms, two threads), and
cached in ``~/.cache/mimo-desktop-tests/trained-mimo-<key>`` (``MIMO_TEST_CACHE`` overrides the folder) where the
key hashes this script's code (not this docstring), tests/tiny_mimo.py, tests/mimo_fp8.py and the torch /
transformers / tokenizers versions. Build time measured on 2026-12-01 on two cores shared with four other busy
jobs (load average 5-8): 21 minutes (phase 1 868 s, phase 2 212 s, phase 3 161 s); the CPU had about 0.6 of a
core for it, so a quiet two-core machine needs roughly 8 minutes. The backbone is transformers' own
``MiMoV2FlashForCausalLM``; the MTP layer has no transformers twin, so ``MTPLayer`` below computes it as vLLM
0.33's ``mimo_v2_mtp.py`` does. Both are trained together on a corpus whose continuations are predictable (six
memorised stories, each longer than the SWA window), so greedy decoding is stable and MTP drafts get accepted:
phase 1 (60 steps) learns the stories and the MTP layer's steps 1-3; phases 2 and 3 (``finetune``), each from
the previous phase's BF16 weights, teach which story the animal in the prompt asks for.

Structural traits copied from the real MiMo-V2.5 / MiMo-V2-Flash checkpoint (its config.json as vLLM 0.33's
``mimo_v2.py`` / ``mimo_v2_mtp.py`` read it, and transformers' ``MiMoV2FlashConfig`` defaults):
- layer 0 full attention with a dense MLP, then sliding-window (SWA) layers with MoE MLPs: the first four of the
  real 48-layer ``hybrid_layer_pattern`` / ``moe_layer_freq`` (the real model's next full layer is layer 5);
- head_dim 192, v_head_dim 128 (DiffKV), ``attention_value_scale`` 0.707, ``partial_rotary_factor`` 0.334,
  ``rope_theta`` 5e6 (full) and ``swa_rope_theta`` 1e4, ``sliding_window_size`` 128, attention sink biases on the
  SWA layers only (``add_swa_attention_sink_bias``), 4 global KV heads and 8 SWA KV heads (two per pre-shard
  chunk, as in the real SWA layers), 8 query heads so each chunk's Q rows are whole 128-row FP8 blocks while its
  192 K + 128 V rows straddle a block, as the real global layers' do;
- MoE: sigmoid routing with ``e_score_correction_bias`` (float32), grouped top-k (n_group 1), top-2 of 8 experts,
  normalised weights, no shared expert; the router weight kept float32 (vLLM's ``moe_router_dtype``);
- three MTP layers under the official names ``model.mtp.layers.{0,1,2}.*`` (enorm, hnorm, eh_proj,
  input_layernorm, SWA self_attn with sinks, pre_mlp_layernorm, dense mlp, final_layernorm) and
  ``num_nextn_predict_layers`` 3. vLLM 0.33 runs only layer 0, for every speculative step, feeding it its own
  output hidden state; so layer 0 is trained that way (steps 1-3) and layers 1, 2 are copies of it;
- the remote config (``model_type`` mimo_v2, ``auto_map``), MiMo's special tokens and chat template
  (tests/tiny_mimo.py), a byte-level BPE tokenizer trained on the corpus;
- layout (b): the official FP8 layout written by tests/mimo_fp8.py (e4m3 weights, 128x128 ``weight_scale_inv``,
  fused ``qkv_proj`` pre-sharded at ``num_key_value_heads`` chunks, ``quantization_config``).
Weight names of layout (a) follow the hub checkpoint as vLLM loads it: separate q/k/v, ``attention_sink_bias``
(transformers: ``sinks``), experts unpacked to ``experts.{e}.gate_proj/up_proj/down_proj``.

One deliberate difference from the hub config: transformers turns ``sliding_window_size`` W into a window of W + 1
keys (``MiMoV2FlashConfig`` sets ``sliding_window = sliding_window_size + 1``), vLLM 0.33 attends to W keys
(``q - k < W`` in its Triton kernels). The reference here builds transformers with ``sliding_window`` W, so both
see the same 128 keys; the golden sequences are longer than 128 tokens, so this matters.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

H, VOCAB, WINDOW = 512, 1024, 128
LAYERS = 4
TRAIN_STEPS = int(os.environ.get("MIMO_TRAINED_STEPS", "60"))
FINETUNE_STEPS = 16
OPENING_STEPS = 60
SEQ_LEN = 180  # training tokens per sample: longer than the SWA window

ANIMALS = ["fox", "owl", "bear", "cat", "wolf", "deer"]
WORDS = ("river stone light green quiet morning forest small bright cold warm night hill road old tree leaf "
         "wind rain snow field house door window garden song bird fish water fire smoke cloud sky star moon "
         "sun red blue white black long short slow fast happy tired hungry brave gentle soft loud sweet bread "
         "milk apple honey berry nest cave path bridge boat sea shore sand shell wave boy girl friend mother "
         "father child king queen village market tower bell clock book letter lamp candle chair table cup "
         "plate spoon basket rope wheel cart horse sheep goat mouse rabbit duck goose swan bee ant "
         "runs walks sleeps sings looks finds gives takes makes sees hears keeps opens closes climbs swims "
         "and the a of to in on under over near with from then again").split()


def hf_config(vocab_size: int = VOCAB):
    from transformers import MiMoV2FlashConfig

    return MiMoV2FlashConfig(
        vocab_size=vocab_size, hidden_size=H, intermediate_size=512, num_hidden_layers=LAYERS,
        num_attention_heads=8, num_key_value_heads=4, head_dim=192, v_head_dim=128,
        layer_types=["full_attention"] + ["sliding_attention"] * (LAYERS - 1),
        mlp_layer_types=["dense"] + ["sparse"] * (LAYERS - 1),
        n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=128, n_group=1, topk_group=1,
        norm_topk_prob=True, routed_scaling_factor=1.0, sliding_window=WINDOW, attention_value_scale=0.707,
        rms_norm_eps=1e-5, max_position_embeddings=4096, tie_word_embeddings=False, initializer_range=0.02,
        rope_parameters={
            "full_attention": {"rope_type": "default", "rope_theta": 5_000_000.0, "partial_rotary_factor": 0.334},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0, "partial_rotary_factor": 0.334}},
        attn_implementation="eager")


def vllm_config(vocab: dict[str, int]) -> dict:
    """config.json as the hub's MiMo-V2.5 text model has it (the keys vLLM 0.33 reads)."""
    return {
        "architectures": ["MiMoV2ForCausalLM"], "model_type": "mimo_v2",
        "auto_map": {"AutoConfig": "configuration_mimo_v2.MiMoV2Config"},
        "vocab_size": VOCAB, "hidden_size": H, "intermediate_size": 512, "num_hidden_layers": LAYERS,
        "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 192, "v_head_dim": 128,
        "swa_num_attention_heads": 8, "swa_num_key_value_heads": 8, "swa_head_dim": 192, "swa_v_head_dim": 128,
        "sliding_window_size": WINDOW, "add_swa_attention_sink_bias": True, "add_full_attention_sink_bias": False,
        "hybrid_layer_pattern": [0] + [1] * (LAYERS - 1), "moe_layer_freq": [0] + [1] * (LAYERS - 1),
        "n_routed_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 128,
        "n_group": 1, "topk_group": 1, "norm_topk_prob": True, "scoring_func": "sigmoid",
        "topk_method": "noaux_tc", "routed_scaling_factor": 1.0,
        "hidden_act": "silu", "layernorm_epsilon": 1e-5, "attention_bias": False,
        "attention_value_scale": 0.707, "partial_rotary_factor": 0.334,
        "rope_theta": 5000000.0, "swa_rope_theta": 10000.0,
        "max_position_embeddings": 4096, "num_nextn_predict_layers": 3,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        "bos_token_id": vocab["<|endoftext|>"], "eos_token_id": vocab["<|im_end|>"],
    }


# ---------------------------------------------------------------- corpus and tokenizer
def story(animal: str) -> str:
    """A fixed story per animal: a cycle of 12 words drawn per animal, with "and" and "the" at places of its
    own, told 11 times over (165 tokens). The first word depends on the animal named in the prompt, and the word
    after "and" or "the" on the words before them, not on the last word alone: attention must work for the
    answer to come out right."""
    rng = random.Random(f"story-{animal}")
    words = rng.sample([w for w in WORDS if w not in ("and", "the")], 12)
    words.insert(rng.randint(2, 5), "and")
    words.insert(rng.randint(7, 11), "the")
    return " ".join([" ".join(words) + "."] * 11)


def prompt_story(animal: str) -> str:
    return f"Tell me the story of the {animal}."


def chat(prompt: str, answer: str | None = None) -> str:
    text = f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
    return text if answer is None else text + answer + "<|im_end|>\n"


def train_tokenizer(out: Path):
    from tiny_mimo import SPECIAL
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [chat(prompt_story(a), story(a)) for a in ANIMALS] * 4
    corpus += [" ".join(WORDS)] * 4
    corpus += ["Describe the image. What is in this video? Transcribe the audio. 0 1 2 3 4 5 6 7 8 9 00:01"] * 8
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 24, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.save(str(out / "tokenizer.json"))
    return tok


# ---------------------------------------------------------------- the MTP layer, as vLLM 0.33 computes it
def make_mtp_layer(cfg):
    import torch
    from torch import nn
    from transformers.models.mimo_v2_flash import modeling_mimo_v2_flash as m

    class MTPLayer(nn.Module):
        """vLLM's MiMoV2MTPLayer: h = eh_proj([enorm(emb) | hnorm(prev)]); SWA attention block; dense MLP block
        (fused residual norms); final_layernorm. The attention is transformers' SWA MiMoV2FlashAttention (same
        math as vLLM's MiMoV2Attention with the swa_* config: 8 KV heads, sinks, v scale, swa rope)."""

        def __init__(self) -> None:
            super().__init__()
            eps = cfg.rms_norm_eps
            swa = type(cfg)(**{**cfg.to_dict(), "num_hidden_layers": 1, "layer_types": ["sliding_attention"],
                               "mlp_layer_types": ["dense"]})
            swa._attn_implementation = "eager"
            self.enorm, self.hnorm = m.MiMoV2FlashRMSNorm(H, eps), m.MiMoV2FlashRMSNorm(H, eps)
            self.eh_proj = nn.Linear(2 * H, H, bias=False)
            self.input_layernorm = m.MiMoV2FlashRMSNorm(H, eps)
            self.self_attn = m.MiMoV2FlashAttention(swa, 0)
            self.pre_mlp_layernorm = m.MiMoV2FlashRMSNorm(H, eps)
            self.mlp = m.MiMoV2FlashMLP(swa)
            self.final_layernorm = m.MiMoV2FlashRMSNorm(H, eps)

        def forward(self, emb, prev, position_embeddings, mask):
            h = self.eh_proj(torch.cat([self.enorm(emb), self.hnorm(prev)], dim=-1))
            residual = h
            h, _ = self.self_attn(self.input_layernorm(h), position_embeddings, attention_mask=mask)
            residual = h + residual
            h = self.mlp(self.pre_mlp_layernorm(residual)) + residual
            return self.final_layernorm(h)

    return MTPLayer()


def swa_mask(t: int, dtype):
    """Additive causal mask over the last WINDOW keys (vLLM's q - k < W), shape [1, 1, T, T]."""
    import torch

    q = torch.arange(t)[:, None]
    k = torch.arange(t)[None, :]
    allowed = (k <= q) & (q - k < WINDOW)
    return torch.zeros(t, t, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)[None, None]


def mtp_forward(model, mtp, ids, hidden, steps: int):
    """Hidden states of the MTP layer for speculative steps 1..steps, as vLLM chains them: step k at position p
    takes token p + k and the previous step's output at p (step 1: the backbone's final hidden state), at
    position p + k - 1, and predicts token p + k + 1. Every step sees the whole (shifted) sequence."""
    import torch

    outs, prev = [], hidden
    t = ids.shape[1]
    for k in range(1, steps + 1):
        n = t - k
        emb = model.model.embed_tokens(ids[:, k:])
        pos = torch.arange(k - 1, k - 1 + n)[None].expand(ids.shape[0], -1)
        pe = model.model.rotary_emb(emb, pos, "sliding_attention")
        prev = mtp(emb, prev[:, :n], pe, swa_mask(n, emb.dtype))
        outs.append(prev)
    return outs


# ---------------------------------------------------------------- training
def samples(tok, rng: random.Random, n: int):
    """n (ids, loss-mask) pairs of memorised stories (distinct animals)."""
    out = []
    for animal in rng.sample(ANIMALS, n):
        prompt, answer = prompt_story(animal), story(animal)
        head = tok.encode(chat(prompt)).ids
        body = tok.encode(answer + "<|im_end|>\n").ids
        out.append((head + body, [0] * len(head) + [1] * len(body)))
    return out


def batch(pairs, pad: int, max_len: int):
    import torch

    ids = torch.full((len(pairs), max_len), pad, dtype=torch.long)
    mask = torch.zeros(len(pairs), max_len)
    for i, (a, m) in enumerate(pairs):
        a, m = a[:max_len], m[:max_len]
        ids[i, :len(a)] = torch.tensor(a)
        mask[i, :len(m)] = torch.tensor(m, dtype=torch.float)
    return ids, mask


def train(tok, log=print):
    import torch
    import torch.nn.functional as F
    from transformers import MiMoV2FlashForCausalLM

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    cfg = hf_config()
    model = MiMoV2FlashForCausalLM(cfg)
    mtp = make_mtp_layer(cfg)
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + list(mtp.named_parameters()):
            if name.endswith("sinks"):
                p.normal_(0.0, 1.0)  # sinks that matter (transformers' init leaves them near 0)
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                b.copy_(torch.randn(b.shape) * 0.05)
    params = list(model.parameters()) + list(mtp.parameters())
    opt = torch.optim.AdamW(params, lr=4e-3, betas=(0.9, 0.95), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 6) * max(0.05, 1 - s / TRAIN_STEPS))
    rng = random.Random(1)
    pad = tok.token_to_id("<|endoftext|>")
    history, t0 = [], time.monotonic()
    for step in range(TRAIN_STEPS):
        ids, mask = batch(samples(tok, rng, 3), pad, SEQ_LEN)
        hidden = model.model(input_ids=ids).last_hidden_state
        logits = model.lm_head(hidden)
        losses = [(F.cross_entropy(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten(), reduction="none")
                   * mask[:, 1:].flatten()).sum() / mask[:, 1:].sum()]
        for k, h in enumerate(mtp_forward(model, mtp, ids, hidden.detach(), 3), start=1):
            lg = model.lm_head(h[:, :-1])
            tgt, m = ids[:, k + 1:], mask[:, k + 1:]
            losses.append((F.cross_entropy(lg.flatten(0, 1), tgt.flatten(), reduction="none")
                           * m.flatten()).sum() / m.sum())
        loss = losses[0] + 0.5 * sum(losses[1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step % 4 == 0 or step == TRAIN_STEPS - 1:
            row = {"step": step, "s": round(time.monotonic() - t0, 1), "main": round(losses[0].item(), 4),
                   "mtp": [round(x.item(), 4) for x in losses[1:]]}
            history.append(row)
            log(json.dumps(row))
    return model.eval(), mtp.eval(), history


PHASES = {  # phase: (steps, lr, stories per step, tokens per sample, weight of the first 3 answer tokens, seed)
    2: (FINETUNE_STEPS, 1e-3, 3, SEQ_LEN, 20.0, 1),
    3: (OPENING_STEPS, 5e-4, 6, 36, 1.0, 3),
}


def finetune(tok, model, mtp, log=print, phase: int = 2):
    """Phases 2 and 3, each from the previous phase's BF16 weights, so that the answer depends on the prompt
    with a clear margin (phase 1 learns the stories' cycles long before it learns which story the animal in
    the prompt asks for). Phase 2: whole samples, the first answer tokens weigh 20 times more. Phase 3: all six
    stories per step, cut to the prompt and the first 20 answer tokens (cheap steps). MTP step 1 along."""
    import torch
    import torch.nn.functional as F

    steps, lr, n, max_len, first_weight, seed = PHASES[phase]
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    model.train()
    mtp.train()
    params = list(model.parameters()) + list(mtp.parameters())
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    rng = random.Random(seed + 1)
    pad = tok.token_to_id("<|endoftext|>")
    history, t0 = [], time.monotonic()
    for step in range(steps):
        ids, mask = batch(samples(tok, rng, n), pad, max_len)
        weight = mask[:, 1:].clone()
        for row in weight:
            first = int(row.nonzero()[0])
            row[first:first + 3] = first_weight
        hidden = model.model(input_ids=ids).last_hidden_state
        logits = model.lm_head(hidden)
        main = (F.cross_entropy(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten(), reduction="none")
                * weight.flatten()).sum() / weight.sum()
        h1 = mtp_forward(model, mtp, ids, hidden.detach(), 1)[0]
        m = mask[:, 2:]
        draft = (F.cross_entropy(model.lm_head(h1[:, :-1]).flatten(0, 1), ids[:, 2:].flatten(), reduction="none")
                 * m.flatten()).sum() / m.sum()
        loss = main + 0.5 * draft
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 4 == 0 or step == steps - 1:
            row = {"phase": phase, "step": step, "s": round(time.monotonic() - t0, 1),
                   "main_weighted": round(main.item(), 4), "mtp1": round(draft.item(), 4)}
            history.append(row)
            log(json.dumps(row))
    return model.eval(), mtp.eval(), history


# ---------------------------------------------------------------- layouts
def bf16_state(model, mtp) -> dict:
    """Layout (a): the hub's names as vLLM 0.33 loads them, BF16 (router and its bias float32)."""
    import torch

    sd = {}
    for n, p in model.state_dict().items():
        t = p.detach()
        if ".mlp.experts.gate_up_proj" in n or ".mlp.experts.down_proj" in n:
            pre, kind = n.rsplit(".", 1)
            for e in range(t.shape[0]):
                if kind == "gate_up_proj":
                    g, u = t[e].chunk(2, dim=0)
                    sd[f"{pre}.{e}.gate_proj.weight"] = g.to(torch.bfloat16).contiguous()
                    sd[f"{pre}.{e}.up_proj.weight"] = u.to(torch.bfloat16).contiguous()
                else:
                    sd[f"{pre}.{e}.down_proj.weight"] = t[e].to(torch.bfloat16).contiguous()
            continue
        if ".mlp.gate." in n:  # float32, holding bf16-exact values so transformers in BF16 routes identically
            sd[n] = t.to(torch.bfloat16).float().contiguous() if n.endswith("weight") else t.float().contiguous()
            continue
        sd[n.replace("self_attn.sinks", "self_attn.attention_sink_bias")] = t.to(torch.bfloat16).contiguous()
    for i in range(3):
        for n, p in mtp.state_dict().items():
            name = n.replace("self_attn.sinks", "self_attn.attention_sink_bias")
            sd[f"model.mtp.layers.{i}.{name}"] = p.detach().to(torch.bfloat16).contiguous()
    return sd


def models_from_state(sd: dict, dtype):
    """transformers' MiMoV2FlashForCausalLM and the MTP layer from layout (a) tensors (the inverse mapping)."""
    import torch
    from transformers import MiMoV2FlashForCausalLM

    cfg = hf_config()
    model = MiMoV2FlashForCausalLM(cfg)
    mtp = make_mtp_layer(cfg)
    hf, mt = {}, {}
    for n, t in sd.items():
        n = n.replace("self_attn.attention_sink_bias", "self_attn.sinks")
        if n.startswith("model.mtp.layers.0."):
            mt[n[len("model.mtp.layers.0."):]] = t
        elif not n.startswith("model.mtp."):
            hf[n] = t
    for layer in range(1, LAYERS):
        pre = f"model.layers.{layer}.mlp.experts"
        e_count = cfg.n_routed_experts
        gu = [torch.cat([hf.pop(f"{pre}.{e}.gate_proj.weight"), hf.pop(f"{pre}.{e}.up_proj.weight")])
              for e in range(e_count)]
        hf[f"{pre}.gate_up_proj"] = torch.stack(gu)
        hf[f"{pre}.down_proj"] = torch.stack([hf.pop(f"{pre}.{e}.down_proj.weight") for e in range(e_count)])
    model.load_state_dict(hf, strict=True)
    mtp.load_state_dict(mt, strict=True)
    model.to(dtype)
    for name, b in model.named_buffers():  # transformers keeps e_score_correction_bias float32
        if name.endswith("e_score_correction_bias"):
            b.data = b.data.float()
    return model.eval(), mtp.to(dtype).eval()


def load_reference(folder: Path, dtype=None):
    """The reference models from a layout (a) folder (BF16 unless told)."""
    import torch
    from safetensors.torch import load_file

    return models_from_state(load_file(str(folder / "model.safetensors")), dtype or torch.bfloat16)


def write_folder(out: Path, vocab: dict, sd: dict, extra_config: dict | None = None) -> None:
    from safetensors.torch import save_file
    from tiny_mimo import CONFIG_CODE, TEMPLATE

    out.mkdir(parents=True, exist_ok=True)
    json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|im_end|>",
               "pad_token": "<|endoftext|>", "chat_template": TEMPLATE, "model_max_length": 4096},
              open(out / "tokenizer_config.json", "w"))
    (out / "configuration_mimo_v2.py").write_text(CONFIG_CODE)
    json.dump({**vllm_config(vocab), **(extra_config or {})}, open(out / "config.json", "w"), indent=1)
    json.dump({"eos_token_id": vocab["<|im_end|>"]}, open(out / "generation_config.json", "w"))
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})


# ---------------------------------------------------------------- cache
def cache_key() -> str:
    import tokenizers
    import torch
    import transformers

    h = hashlib.sha256()
    for name in ("trained_mimo.py", "tiny_mimo.py", "mimo_fp8.py"):
        path = HERE / name
        data = path.read_bytes() if path.exists() else b"-"
        if name == "trained_mimo.py":
            data = data.split(b'"""', 2)[2]  # the code, not the module docstring
        h.update(data)
    h.update(f"{torch.__version__} {transformers.__version__} {tokenizers.__version__} {TRAIN_STEPS} {PHASES}".encode())
    return h.hexdigest()[:16]


def cache_root() -> Path:
    base = os.environ.get("MIMO_TEST_CACHE") or os.path.expanduser("~/.cache/mimo-desktop-tests")
    return Path(base) / f"trained-mimo-{cache_key()}"


def build(log=print) -> dict[str, Path]:
    """The cached checkpoint folders (built first when missing): {"root", "bf16", "fp8"}."""
    import torch

    root = cache_root()
    if not (root / "done.json").exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=root.name + ".", dir=root.parent))
        t0 = time.monotonic()
        tok_dir = tmp / "tok"
        tok_dir.mkdir()
        tok = train_tokenizer(tok_dir)
        model, mtp, history = train(tok, log)
        for phase in (2, 3):
            model, mtp = models_from_state(bf16_state(model, mtp), torch.float32)
            model, mtp, more = finetune(tok, model, mtp, log, phase)
            history += more
        vocab = tok.get_vocab()
        sd = bf16_state(model, mtp)
        write_folder(tmp / "bf16", vocab, sd)
        shutil.copy(tok_dir / "tokenizer.json", tmp / "bf16" / "tokenizer.json")
        fp8 = _write_fp8(tmp, vocab, sd)
        if fp8:
            shutil.copy(tok_dir / "tokenizer.json", fp8 / "tokenizer.json")
        json.dump({"build_s": round(time.monotonic() - t0, 1), "history": history, "fp8": bool(fp8)},
                  open(tmp / "done.json", "w"), indent=1)
        shutil.rmtree(tok_dir)
        try:
            tmp.rename(root)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    return {"root": root, "bf16": root / "bf16", "fp8": root / "fp8"}


def _write_fp8(tmp: Path, vocab: dict, sd: dict) -> Path | None:
    """Layout (b) through tests/mimo_fp8.py (the official FP8 layout); None while that module is missing."""
    try:
        import mimo_fp8
    except ImportError:
        return None
    out = tmp / "fp8"
    config = vllm_config(vocab)
    write_folder(out, vocab, mimo_fp8.to_official_fp8(sd, config), mimo_fp8.config_keys(config))
    return out


# ---------------------------------------------------------------- goldens
GOLDEN_ANIMALS = ("fox", "owl", "bear")
GOLDEN_PROMPTS = [prompt_story(a) for a in GOLDEN_ANIMALS]
GOLDEN_TOKENS = 128  # > 64, and prompt + answer passes the 128-key SWA window
GOLDEN_FILE = HERE / "goldens" / "trained_mimo.json"
TOP_K = 5


def reference_run(folder: Path, prompts=GOLDEN_PROMPTS, n_tokens: int = GOLDEN_TOKENS) -> list[dict]:
    """transformers (BF16, CPU) on a layout (a) folder: greedy tokens with a KV cache, then one teacher-forced
    pass over prompt + answer for the top-k logprobs (it must pick the same tokens), and the MTP layer's step-1
    drafts on that pass (token p + 2 from the hidden state at p and token p + 1: what vLLM's MTP 1 proposes)."""
    import torch
    from transformers import PreTrainedTokenizerFast

    torch.manual_seed(0)
    torch.set_num_threads(2)
    tok = PreTrainedTokenizerFast.from_pretrained(str(folder))
    model, mtp = load_reference(folder)
    out = []
    with torch.no_grad():
        for prompt in prompts:
            text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                           add_generation_prompt=True)
            ids = tok(text, add_special_tokens=False)["input_ids"]
            gen = model.generate(torch.tensor([ids]), max_new_tokens=n_tokens, min_new_tokens=n_tokens,
                                 do_sample=False, eos_token_id=None, pad_token_id=tok.pad_token_id)
            tokens = gen[0, len(ids):].tolist()
            full = torch.tensor([ids + tokens])
            hidden = model.model(input_ids=full).last_hidden_state
            logp = torch.log_softmax(model.lm_head(hidden).float(), -1)[0, len(ids) - 1:-1]
            top = logp.topk(TOP_K, dim=-1)
            forced = top.indices[:, 0].tolist()
            margins = (top.values[:, 0] - top.values[:, 1]).tolist()
            draft_h = mtp_forward(model, mtp, full, hidden, 1)[0]
            drafts = model.lm_head(draft_h).argmax(-1)[0].tolist()  # at p: guess for token p + 2
            start = len(ids) - 1
            hits = [drafts[p] == full[0, p + 2].item() for p in range(start, full.shape[1] - 2)]
            out.append({
                "prompt": prompt, "prompt_text": text, "prompt_ids": ids, "tokens": tokens,
                "text": tok.decode(tokens), "teacher_forced_agrees": forced == tokens,
                "top_ids": top.indices.tolist(),
                "top_logprobs": [[round(v, 4) for v in r] for r in top.values.tolist()],
                "min_margin": round(min(margins), 4), "mtp1_draft_hit_rate": round(sum(hits) / len(hits), 4),
            })
    return out


def make_goldens(path: Path = GOLDEN_FILE) -> dict:
    paths = build()
    data = {
        "made_by": "python3 tests/trained_mimo.py --goldens  (transformers BF16 on the CPU, layout (a))",
        "checkpoint_key": cache_key(), "max_new_tokens": GOLDEN_TOKENS, "top_k": TOP_K,
        "prompts": reference_run(paths["bf16"]),
    }
    for row, animal in zip(data["prompts"], GOLDEN_ANIMALS):  # did it learn its corpus? (recorded, not required)
        row["tells_its_story"] = story(animal).startswith(row["text"].rstrip())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return data


if __name__ == "__main__":
    if "--goldens" in sys.argv:
        made = make_goldens()
        for row in made["prompts"]:
            print(row["prompt"], "| margin", row["min_margin"], "| mtp1 hits", row["mtp1_draft_hit_rate"],
                  "| forced agrees", row["teacher_forced_agrees"], "|", row["text"][:80])
        sys.exit(0)
    paths = build()
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        dest = Path(sys.argv[1])
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("bf16", "fp8"):
            if paths[name].exists() and not (dest / name).exists():
                (dest / name).symlink_to(paths[name])
    print(paths["root"])
