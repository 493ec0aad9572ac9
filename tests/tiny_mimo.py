"""(Copied from ../shared/gpu/tiny_mimo.py, the tested GPU recipe, so tests and the GPU run build it
from the repository alone; one copy serves tests/engine, tests/models, tests/gpu and bench/.)
Write a tiny MiMo-V2 checkpoint folder (config, remote config code, tokenizer) for dummy-weight runs.

Usage: python3 tiny_mimo.py OUT [--omni] [--audio]   (--omni: + vision tower; --audio: + audio encoder and a tiny
audio_tokenizer/, implies --omni; needs torch and safetensors)
"""
import json
import os
import sys

from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

SPECIAL = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>",
    "<|mimo_audio_start|>", "<|mimo_audio_end|>", "<|audio_pad|>",
    "<|mimo_video_start|>", "<|mimo_video_end|>",
]

CONFIG_CODE = '''
from transformers import PretrainedConfig


class MiMoV2Config(PretrainedConfig):
    model_type = "mimo_v2"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
'''

TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}"
    "{% elif c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'audio' %}<|mimo_audio_start|><|audio_pad|><|mimo_audio_end|>"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def main(out: str, omni: bool = False, audio: bool = False) -> None:
    os.makedirs(out, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["The quick brown fox jumps over the lazy dog. " * 4,
              "Describe the image. What is in this video? Transcribe the audio. 00:01 00:02"] * 50
    trainer = trainers.BpeTrainer(vocab_size=900, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.save(os.path.join(out, "tokenizer.json"))
    vocab = tok.get_vocab()
    json.dump({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
        "chat_template": TEMPLATE, "model_max_length": 4096,
    }, open(os.path.join(out, "tokenizer_config.json"), "w"))
    open(os.path.join(out, "configuration_mimo_v2.py"), "w").write(CONFIG_CODE)
    n_layers = 2
    cfg = {
        "architectures": ["MiMoV2ForCausalLM"],
        "model_type": "mimo_v2",
        "auto_map": {"AutoConfig": "configuration_mimo_v2.MiMoV2Config"},
        "vocab_size": 1024, "hidden_size": 256, "intermediate_size": 512,
        "num_hidden_layers": n_layers, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 192, "v_head_dim": 128,
        "swa_num_attention_heads": 4, "swa_num_key_value_heads": 2,
        "swa_head_dim": 192, "swa_v_head_dim": 128,
        "sliding_window_size": 128, "add_swa_attention_sink_bias": True,
        "hybrid_layer_pattern": [0, 1], "moe_layer_freq": [0, 1],
        "n_routed_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 128,
        "n_group": 1, "topk_group": 1, "norm_topk_prob": True,
        "hidden_act": "silu", "layernorm_epsilon": 1e-5, "attention_bias": False,
        "attention_value_scale": 0.707, "partial_rotary_factor": 0.334,
        "rope_theta": 5000000.0, "swa_rope_theta": 10000.0,
        "max_position_embeddings": 4096, "num_nextn_predict_layers": 3,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        "bos_token_id": vocab["<|endoftext|>"], "eos_token_id": vocab["<|im_end|>"],
    }
    if omni:
        cfg["vision_config"] = {
            "depth": 2, "hidden_size": 64, "hidden_act": "silu", "intermediate_size": 128,
            "num_heads": 4, "num_key_value_heads": 4, "qk_channels": 16, "kv_channels": 16,
            "in_channels": 3, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
            "tokens_per_second": 2, "window_size": 112, "out_hidden_size": 256,
            "fullatt_block_indexes": [0, 1], "vit_window_attn_types": [-1, -1],
            "visual_token_window_size": 64, "use_sink": False,
        }
        ids = {k: vocab[v] for k, v in {
            "image_token_id": "<|image_pad|>", "video_token_id": "<|video_pad|>",
            "audio_token_id": "<|audio_pad|>", "vision_start_token_id": "<|vision_start|>",
            "vision_end_token_id": "<|vision_end|>", "audio_start_token_id": "<|mimo_audio_start|>",
            "audio_end_token_id": "<|mimo_audio_end|>", "video_start_token_id": "<|mimo_video_start|>",
            "video_end_token_id": "<|mimo_video_end|>"}.items()}
        cfg["processor_config"] = dict(ids, fps=2.0, max_frames=16, min_frames=2,
                                       image_max_pixels=256 * 28 * 28, video_max_pixels=64 * 28 * 28,
                                       video_total_max_pixels=512 * 28 * 28)
        cfg.update(ids)
    if audio:
        # vLLM's MimoAudioEncoder: audio codes (8 RVQ channels) -> embeddings -> LM hidden size. The codes come from
        # the audio tokenizer in <model>/audio_tokenizer (config.json + weights, loaded with strict=False).
        cfg["audio_config"] = {
            "speech_vocab_size": "1025-1025-129-129-129-129-129-129",
            "speech_zeroemb_idx": "1024-1024-128-128-128-128-128-128",
            "group_size": 4, "audio_channels": 8, "input_local_layers": 1, "input_local_dim": 64,
            "input_full_attention": True, "input_local_attn_heads": 4, "input_local_head_dim": 16,
            "input_local_intermediate_size": 128, "out_hidden_size": cfg["hidden_size"],
            "rope_theta": 640000.0, "partial_rotary_factor": 0.334, "projection_layers": 1,
            "add_post_norm": False, "audio_segment_size": 6000,
        }
        tok_dir = os.path.join(out, "audio_tokenizer")
        os.makedirs(tok_dir, exist_ok=True)
        json.dump({
            "d_model": 64, "encoder_layers": 2, "encoder_attention_heads": 4, "encoder_ffn_dim": 128,
            "n_mels": 128, "sampling_rate": 24000, "hop_length": 240, "window_size": 960, "nfft": 960,
            "kernel_size": 3, "stride_size": 2, "avg_pooler": 2, "num_quantizers": 8,
            "codebook_size": [1024, 1024, 128, 128, 128, 128, 128, 128], "max_audio_seconds": 600,
            "decoder_layers": 0, "vocoder_num_layers": 0,
        }, open(os.path.join(tok_dir, "config.json"), "w"), indent=1)
        import torch
        from safetensors.torch import save_file
        save_file({"placeholder": torch.zeros(1)}, os.path.join(tok_dir, "model.safetensors"))
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=1)
    json.dump({"eos_token_id": vocab["<|im_end|>"]}, open(os.path.join(out, "generation_config.json"), "w"))
    print("tiny model at", out, "vocab", len(vocab))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tiny-mimo", omni="--omni" in sys.argv or "--audio" in sys.argv,
         audio="--audio" in sys.argv)
