"""Parity with vLLM 0.33.0's own MiMo processor: same sizes, same tokens, same tensors.

Runs vLLM's ``MiMoVLProcessor`` (``vllm/transformers_utils/processors/mimo_v2_omni.py``)
and ours on the same generated inputs, for the tiny test model's config and for
MiMo-V2.5's published defaults. Skipped, with the reason, where vLLM cannot be
imported; ``test_golden.py`` then checks values recorded from these runs.
"""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
vllm_mimo = pytest.importorskip(
    "vllm.transformers_utils.processors.mimo_v2_omni", reason="vLLM 0.33.0 is not importable here"
)

from PIL import Image  # noqa: E402

from mimo_desktop.media import rules, tensors  # noqa: E402
from mimo_desktop.media.config import ProcessorConfig, load_model_config  # noqa: E402

pytestmark = pytest.mark.vllm


def _reference(model_dir, processor_config: dict | None = None, patch_size: int | None = None):
    from transformers import PreTrainedTokenizerFast

    hf = json.loads((model_dir / "config.json").read_text())
    if processor_config is not None:
        hf["processor_config"] = {**processor_config, **{k: v for k, v in hf["processor_config"].items()
                                                         if k.endswith("_token_id")}}
    if patch_size is not None:
        hf["vision_config"]["patch_size"] = patch_size
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(model_dir / "tokenizer.json"), pad_token="<|endoftext|>")
    ns = SimpleNamespace(vision_config=hf["vision_config"], processor_config=hf["processor_config"],
                         audio_config=hf.get("audio_config"), rope_scaling=None)
    return vllm_mimo.MiMoOmniProcessor.from_hf_config(tokenizer, ns).mimo_processor


MIMO_V25_PROCESSOR = {  # config.json processor_config of XiaomiMiMo/MiMo-V2.5 (vision part)
    "fps": 1.0, "image_max_pixels": 8388608, "image_min_pixels": 8192, "max_frames": 3600,
    "min_frames": None, "num_frames": None, "video_max_pixels": 8388608, "video_min_pixels": 8192,
    "video_total_max_pixels": 268435456,
}


@pytest.fixture(scope="module", params=["tiny", "mimo-v2.5"])
def pair(request, tiny_model_dir):
    """(vLLM's MiMoVLProcessor, our ProcessorConfig) for the same model config."""
    if request.param == "tiny":
        return _reference(tiny_model_dir), load_model_config(tiny_model_dir)
    return _reference(tiny_model_dir, MIMO_V25_PROCESSOR, patch_size=16), ProcessorConfig()


def _image(h: int, w: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None] * np.ones((h, 1, 3), np.float32)
    noise = rng.integers(0, 64, (h, w, 3)).astype(np.float32)
    return Image.fromarray(np.clip(ramp + noise, 0, 255).astype(np.uint8))


IMAGE_SIZES = [(1, 1), (5, 7), (13, 400), (27, 29), (28, 28), (33, 1000), (97, 131), (240, 320),
               (333, 517), (480, 640), (721, 1279), (1080, 1920), (1500, 23), (2047, 3001), (3000, 4000)]


@pytest.mark.parametrize(("h", "w"), IMAGE_SIZES)
def test_image_sizes_tokens_and_pixels_match(pair, h, w):
    ref, cfg = pair
    img = _image(h, w, seed=h * 7 + w)
    ref_tensor = ref.process_image(vllm_mimo.ImageInput(image=img))
    ref_patches, ref_thw = ref._flatten_visual(ref_tensor, "image")
    ours, grid = tensors.image_pixel_values(img, cfg)
    resized = rules.smart_resize(h, w, cfg.factor, cfg.image_min_pixels, cfg.image_max_pixels)

    assert resized == tuple(ref_tensor.shape[-2:])
    assert grid == tuple(ref_thw.tolist())
    assert rules.image_token_count(resized, cfg.patch_size, cfg.merge_size) == int(ref_thw.prod()) // 4 + 2
    assert ours.shape == ref_patches.shape
    assert float((ours - ref_patches).abs().max()) <= 1e-4


VIDEO_CASES = [(1, 64, 48), (2, 240, 320), (3, 100, 37), (5, 480, 640), (8, 240, 320), (9, 720, 1280),
               (16, 360, 640), (17, 31, 500), (40, 144, 176)]


@pytest.mark.parametrize(("n", "h", "w"), VIDEO_CASES)
def test_video_grids_tokens_and_pixels_match(pair, n, h, w):
    ref, cfg = pair
    gen = torch.Generator().manual_seed(n * 1000 + h)
    frames = torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=gen)
    timestamps = torch.arange(n, dtype=torch.float32) * 0.5
    ref_patches, ref_thw, ref_ts, _ = ref.process_video(vllm_mimo.VideoInput(video=(frames, timestamps)))
    ours, grid = tensors.video_pixel_values(frames, cfg)

    assert grid == tuple(ref_thw.tolist())
    assert tensors.video_resized_size(n, h, w, cfg) == (grid[1] * cfg.patch_size, grid[2] * cfg.patch_size)
    assert len(ref_ts[:: cfg.frame_factor]) == grid[0]
    assert ours.shape == ref_patches.shape
    assert float((ours - ref_patches).abs().max()) <= 1e-4


AUDIO_CASES = [(24000, 1, 24000), (16000, 1, 16000 * 3 + 17), (44100, 2, 44100 * 2 + 5), (48000, 2, 48000),
               (8000, 1, 8000 * 7 + 3), (22050, 1, 22050 * 5), (11025, 2, 1103), (96000, 1, 96000 // 3),
               (24000, 1, 2400), (24000, 1, 24000 * 31 + 239)]


@pytest.mark.parametrize(("rate", "channels", "samples"), AUDIO_CASES)
def test_audio_features_and_token_counts_match(pair, rate, channels, samples):
    ref, cfg = pair
    gen = torch.Generator().manual_seed(rate + samples)
    t = torch.arange(samples, dtype=torch.float32) / rate
    wave = 0.3 * torch.sin(2 * torch.pi * 440 * t) + 0.05 * torch.randn(samples, generator=gen)
    wave = wave.repeat(channels, 1) * torch.linspace(0.5, 1.0, channels)[:, None] if channels > 1 else wave
    ref_spec, ref_tokens = ref.preprocess_audio((wave.clone(), rate))

    feat = tensors.AudioFeaturizer(cfg)
    mono = feat.to_model_rate(wave.clone(), rate)
    spec, tokens = feat.features(mono)
    predicted_frames = rules.mel_frame_count(rules.resampled_length(samples, rate, 24000), cfg.audio_hop_length)

    assert tokens == ref_tokens
    assert spec.shape == ref_spec.shape
    assert predicted_frames == spec.shape[0]
    assert float((spec - ref_spec).abs().max()) <= 1e-4


def test_random_sizes_agree_on_resize_rule(pair):
    """Many more sizes through the pure rule only (cheap): same resized size as the reference."""
    ref, cfg = pair
    rng = random.Random(7)
    for _ in range(400):
        h, w = rng.randint(28, 5000), rng.randint(28, 5000)
        if max(h, w) / min(h, w) > 200:
            continue
        expected = vllm_mimo._smart_resize(h, w, cfg.factor, cfg.image_min_pixels, cfg.image_max_pixels)
        assert rules.smart_resize(h, w, cfg.factor, cfg.image_min_pixels, cfg.image_max_pixels) == expected


@pytest.fixture(scope="module")
def vllm_multimodal_processor(tiny_model_dir):
    """vLLM's full multimodal processor for the tiny model, as our embedded engine runs it (CPU only):
    with the engine's one patch, which keeps the real timestamps of (frames, timestamps) videos."""
    from vllm.config import ModelConfig
    from vllm.multimodal import MULTIMODAL_REGISTRY

    from mimo_desktop.engine.vllm_patches import keep_video_timestamps

    assert keep_video_timestamps()

    model = ModelConfig(model=str(tiny_model_dir), trust_remote_code=True, dtype="bfloat16",
                        max_model_len=4096, mm_processor_cache_gb=0)
    return MULTIMODAL_REGISTRY.create_processor(model)


PROMPT_FILES = ["photo.jpg", "rotated_exif6.jpg", "gray16.png", "clip.mp4", "silent.mkv", "clip.webm",
                "long.mp4", "fast60.mp4", "tone.mp3", "stereo48k.wav", "tone.opus.ogg", "voice.webm"]


@pytest.mark.slow
def test_prompt_with_many_items_has_the_token_count_vllm_produces(
    vllm_multimodal_processor, media_files, tiny_config
):
    """Whole prompts through vLLM's own pipeline: our per-item and total counts must match it exactly."""
    from mimo_desktop.media.costs import prompt_token_count
    from mimo_desktop.media.preparation import prepare

    proc = vllm_multimodal_processor
    tokenizer = proc.info.get_tokenizer()
    items = [prepare(media_files[name], tiny_config) for name in PROMPT_FILES]
    items += [item.audio_track for item in items if item.audio_track is not None]
    text = "<|im_start|>user\nLook at these 00:01 things.\n"
    text += "".join(f"Item {i}: {item.placeholder}\n" for i, item in enumerate(items))
    text += "What do you see and hear?<|im_end|>\n<|im_start|>assistant\n"
    mm_data: dict[str, list] = {}
    for item in items:
        mm_data.setdefault(item.kind, []).append(item.vllm_data)

    # vLLM's renderer tokenizes first, then hands token ids to the multimodal processor
    out = proc(tokenizer.encode(text), proc.info.parse_mm_data(mm_data))

    assert len(out["prompt_token_ids"]) == prompt_token_count(text, items, tiny_config)
    for kind in ("image", "video", "audio"):
        ours = [item.tokens for item in items if item.kind == kind]
        # a placeholder range covers what replaced the pad; the item's outer start/end add 2
        theirs = [r.length + 2 for r in out["mm_placeholders"][kind]]
        assert ours == theirs, kind


@pytest.mark.slow
def test_video_timestamps_kept_by_the_engines_vllm(vllm_multimodal_processor, media_files, tiny_config):
    """With the engine's patch, vLLM writes the real times of (frames, timestamps), and we count them."""
    from mimo_desktop.media.preparation import prepare

    proc = vllm_multimodal_processor
    item = prepare(media_files["long.mp4"], tiny_config)
    tokenizer = proc.info.get_tokenizer()
    out = proc(tokenizer.encode(item.placeholder), proc.info.parse_mm_data({"video": [item.vllm_data]}))

    text = tokenizer.decode(out["prompt_token_ids"])
    assert [t for t in item.details["token_timestamps"] if t in text] == item.details["token_timestamps"]
    assert item.details["token_timestamps"][-1] != "00:14"  # 12 s clip: not the 1-fps numbering
    assert len(out["prompt_token_ids"]) == item.tokens


def test_frames_near_the_pixel_floor_are_handed_over_unscaled(tiny_model_dir, media_files):
    """Where vLLM's rule would grow a pre-scaled frame again, we hand it the frames as stored."""
    from mimo_desktop.media.config import config_from_hf
    from mimo_desktop.media.preparation import prepare

    squeezed = {"fps": 2.0, "max_frames": 16, "min_frames": 2, "video_total_max_pixels": 20000}
    ref = _reference(tiny_model_dir, squeezed)
    cfg = config_from_hf({"vision_config": {"patch_size": 14}, "processor_config": squeezed})
    item = prepare(media_files["long.mp4"], cfg)  # 16 frames share 20000 px: each gets the 3136 floor
    frames, times = item.vllm_data
    assert item.resized == (28, 56) and tuple(frames.shape[-2:]) == (96, 128)  # (28, 56) is no fixed point
    _, thw, _, _ = ref.process_video(vllm_mimo.VideoInput(video=(frames, times)))
    t, h, w = thw.tolist()
    assert (h * 14, w * 14) == item.resized
    assert item.details["groups"] == t


def test_frames_from_a_spill_file_give_vllm_the_same_pixels(pair, media_files, tiny_config, monkeypatch, tmp_path):
    """A long video's frames live in a memory-mapped spill file: vLLM's processor reads them like any tensor."""
    from mimo_desktop.media import spill
    from mimo_desktop.media.preparation import prepare

    ref, _ = pair
    held = prepare(media_files["long.mp4"], tiny_config)
    monkeypatch.setattr(spill, "SPILL_ABOVE", 0)
    monkeypatch.setattr(spill, "_folder", tmp_path)
    spilled = prepare(media_files["long.mp4"], tiny_config)
    assert spill.of(spilled.vllm_data[0]) is not None and spill.of(held.vllm_data[0]) is None
    want = ref.process_video(vllm_mimo.VideoInput(video=held.vllm_data))
    got = ref.process_video(vllm_mimo.VideoInput(video=spilled.vllm_data))
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1]) and torch.equal(got[2], want[2])
