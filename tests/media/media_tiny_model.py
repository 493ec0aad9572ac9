"""A tiny MiMo-V2.5 model folder for tests: config.json (vision, processor, audio) and a BPE tokenizer.

Adapted from the project's GPU kit (shared/gpu/tiny_mimo.py) so tests do not depend on
that folder: same special tokens, same processor_config shape, no weights.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>",
    "<|mimo_audio_start|>", "<|mimo_audio_end|>", "<|audio_pad|>",
    "<|mimo_video_start|>", "<|mimo_video_end|>",
]
TOKEN_KEYS = {
    "image_token_id": "<|image_pad|>", "video_token_id": "<|video_pad|>",
    "audio_token_id": "<|audio_pad|>", "vision_start_token_id": "<|vision_start|>",
    "vision_end_token_id": "<|vision_end|>", "audio_start_token_id": "<|mimo_audio_start|>",
    "audio_end_token_id": "<|mimo_audio_end|>", "video_start_token_id": "<|mimo_video_start|>",
    "video_end_token_id": "<|mimo_video_end|>",
}


CONFIG_CODE = """
from transformers import PretrainedConfig


class MiMoV2Config(PretrainedConfig):
    model_type = "mimo_v2"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
"""

# What vLLM needs to accept the folder as MiMoV2OmniForCausalLM (ModelConfig only, no weights).
LM_CONFIG = {
    "auto_map": {"AutoConfig": "configuration_mimo_v2.MiMoV2Config"},
    "vocab_size": 1024, "hidden_size": 256, "intermediate_size": 512,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 192, "v_head_dim": 128, "swa_num_attention_heads": 4, "swa_num_key_value_heads": 2,
    "swa_head_dim": 192, "swa_v_head_dim": 128, "sliding_window_size": 128,
    "add_swa_attention_sink_bias": True, "hybrid_layer_pattern": [0, 1], "moe_layer_freq": [0, 1],
    "n_routed_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 128,
    "n_group": 1, "topk_group": 1, "norm_topk_prob": True, "hidden_act": "silu",
    "layernorm_epsilon": 1e-5, "attention_bias": False, "attention_value_scale": 0.707,
    "partial_rotary_factor": 0.334, "rope_theta": 5000000.0, "swa_rope_theta": 10000.0,
    "max_position_embeddings": 4096, "num_nextn_predict_layers": 0,
    "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}


def write_tiny_model(out: Path, processor_overrides: dict | None = None) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # "00:01 00:02" in the corpus makes some timestamps merge into fewer tokens than
    # others, so tests notice if a timestamp text is wrong
    corpus = ["The quick brown fox jumps over the lazy dog. " * 4,
              "Describe the image. What is in this video? Transcribe the audio. 00:01 00:02"] * 50
    trainer = trainers.BpeTrainer(vocab_size=900, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.save(str(out / "tokenizer.json"))
    vocab = tok.get_vocab()
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
        "model_max_length": 4096,
    }))
    ids = {k: vocab[v] for k, v in TOKEN_KEYS.items()}
    processor = dict(ids, fps=2.0, max_frames=16, min_frames=2, image_max_pixels=256 * 28 * 28,
                     video_max_pixels=64 * 28 * 28, video_total_max_pixels=512 * 28 * 28)
    processor.update(processor_overrides or {})
    cfg = {
        "architectures": ["MiMoV2OmniForCausalLM"], "model_type": "mimo_v2",
        "vision_config": {
            "depth": 2, "hidden_size": 64, "hidden_act": "silu", "intermediate_size": 128,
            "num_heads": 4, "num_key_value_heads": 4, "qk_channels": 16, "kv_channels": 16,
            "in_channels": 3, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
            "tokens_per_second": 2, "window_size": 112, "out_hidden_size": 256,
            "fullatt_block_indexes": [0, 1], "vit_window_attn_types": [-1, -1],
            "visual_token_window_size": 64, "use_sink": False,
        },
        "processor_config": processor,
        "audio_config": {"group_size": 4, "audio_channels": 8},
        **ids,
    }
    cfg.update(LM_CONFIG, bos_token_id=vocab["<|endoftext|>"], eos_token_id=vocab["<|im_end|>"])
    (out / "configuration_mimo_v2.py").write_text(CONFIG_CODE)
    (out / "config.json").write_text(json.dumps(cfg, indent=1))
    return out
