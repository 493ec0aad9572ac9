"""Record vLLM 0.33.0's MiMo processor outputs as golden values, for CI machines without vLLM.

Run from the repository root:  .venv/bin/python tests/media/make_golden.py
It writes tests/media/golden_vllm.json; test_golden.py checks our rules and tensors against it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

HERE = Path(__file__).parent
COMMAND = ".venv/bin/python tests/media/make_golden.py"

CONFIGS = {
    # the tiny test model's processor_config, and MiMo-V2.5's published one
    "tiny": {"patch_size": 14, "processor_config": {"fps": 2.0, "max_frames": 16, "min_frames": 2,
                                                    "image_max_pixels": 256 * 28 * 28,
                                                    "video_max_pixels": 64 * 28 * 28,
                                                    "video_total_max_pixels": 512 * 28 * 28}},
    "mimo-v2.5": {"patch_size": 16, "processor_config": {"fps": 1.0, "image_max_pixels": 8388608,
                                                         "image_min_pixels": 8192, "max_frames": 3600,
                                                         "video_max_pixels": 8388608, "video_min_pixels": 8192,
                                                         "video_total_max_pixels": 268435456}},
}
IMAGES = [(5, 7), (27, 29), (97, 131), (333, 517), (721, 1279), (1500, 23), (2047, 3001)]
VIDEOS = [(1, 64, 48), (3, 100, 37), (8, 240, 320), (9, 720, 1280), (17, 31, 500)]
AUDIO = [(24000, 1, 24000), (16000, 1, 48017), (44100, 2, 88205), (8000, 1, 56003), (11025, 2, 1103)]
SAMPLES = 8


def golden_image(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(h * 10007 + w)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def golden_video(n: int, h: int, w: int) -> torch.Tensor:
    rng = np.random.default_rng(n * 1000003 + h * 1009 + w)
    return torch.from_numpy(rng.integers(0, 256, (n, 3, h, w), dtype=np.uint8))


def golden_audio(rate: int, channels: int, samples: int) -> torch.Tensor:
    rng = np.random.default_rng(rate + samples)
    t = np.arange(samples, dtype=np.float64) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(samples)
    return torch.from_numpy(np.stack([wave * (1 - 0.2 * c) for c in range(channels)]).astype(np.float32))


def fingerprint(t: torch.Tensor) -> dict:
    """Shape, sum and a few evenly spaced values: enough to notice any change in the tensor."""
    flat = t.reshape(-1).double()
    picks = np.linspace(0, flat.numel() - 1, SAMPLES).round().astype(int).tolist()
    return {"shape": list(t.shape), "sum": float(flat.sum()), "values": [float(flat[i]) for i in picks]}


def main() -> None:
    import vllm
    from PIL import Image
    from vllm.transformers_utils.processors import mimo_v2_omni as ref

    out: dict = {"command": COMMAND, "vllm": vllm.__version__, "torch": torch.__version__, "configs": {}}
    tokenizer = SimpleNamespace(pad_token_id=0)
    for name, spec in CONFIGS.items():
        hf = SimpleNamespace(vision_config={"patch_size": spec["patch_size"], "spatial_merge_size": 2,
                                            "temporal_patch_size": 2},
                             processor_config=spec["processor_config"], audio_config=None, rope_scaling=None)
        proc = ref.MiMoOmniProcessor.from_hf_config(tokenizer, hf).mimo_processor
        record: dict = {"spec": spec, "images": [], "videos": [], "audio": []}
        for h, w in IMAGES:
            tensor = proc.process_image(ref.ImageInput(image=Image.fromarray(golden_image(h, w))))
            patches, thw = proc._flatten_visual(tensor, "image")
            record["images"].append({"size": [h, w], "resized": list(tensor.shape[-2:]), "grid": thw.tolist(),
                                     "pixels": fingerprint(patches)})
        for n, h, w in VIDEOS:
            frames = golden_video(n, h, w)
            patches, thw, ts, _ = proc.process_video(ref.VideoInput(video=(frames, torch.arange(n) * 0.5)))
            record["videos"].append({"frames": n, "size": [h, w], "grid": thw.tolist(), "pixels": fingerprint(patches)})
        for rate, channels, samples in AUDIO:
            spec_, tokens = proc.preprocess_audio((golden_audio(rate, channels, samples), rate))
            record["audio"].append({"rate": rate, "channels": channels, "samples": samples, "tokens": tokens,
                                    "features": fingerprint(spec_)})
        out["configs"][name] = record
    (HERE / "golden_vllm.json").write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", HERE / "golden_vllm.json", file=sys.stderr)


if __name__ == "__main__":
    main()
