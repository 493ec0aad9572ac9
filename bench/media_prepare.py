"""How fast does media get ready? prepare() against baselines run in the same process.

    .venv/bin/python bench/media_prepare.py [--quick]

Cases (test files are generated once into /tmp/mimo-bench-media with the ffmpeg CLI):
  - a 12 MP JPEG: prepare() vs. a plain Pillow decode + RGB conversion;
  - 30 s and 60 s of 1080p H.264 at 30 fps, sampled at 2 fps: prepare() (seek to the
    sampled frames, FFmpeg scales) vs. decoding every frame and keeping the sampled ones,
    and vs. vLLM's own video loader (OpenCV backend) where vLLM imports;
  - 30 s and 60 s of 44.1 kHz stereo MP3 to 24 kHz log-mel features: ours vs. vLLM's
    MiMoVLProcessor.preprocess_audio on the same decoded samples.
Prints the best of N runs (seconds) and ratios. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

OUT = Path("/tmp/mimo-bench-media")


def best_of(runs: int, fn: Callable[[], object]) -> float:
    return measure(runs, fn)[0]


def measure(runs: int, fn: Callable[[], object]) -> tuple[float, float]:
    """Best wall time and best CPU time (all threads of this process) over ``runs`` runs.

    CPU time is reported too because this machine is shared: other work inflates
    wall time, much less the CPU seconds our own decoding needs.
    """
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def make_files(quick: bool) -> dict[str, Path]:
    OUT.mkdir(exist_ok=True)
    files = {"jpeg": OUT / "photo12mp.jpg", "audio30": OUT / "audio30.mp3", "audio60": OUT / "audio60.mp3",
             "video30": OUT / "video30_1080p.mp4"}
    if not quick:
        files["video60"] = OUT / "video60_1080p.mp4"
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("the ffmpeg command is needed to make the test files")
    if not files["jpeg"].exists():
        from PIL import Image

        rng = np.random.default_rng(0)
        y, x = np.mgrid[0:3000, 0:4000]
        rgb = np.stack([x * 255 / 4000, y * 255 / 3000, (x + y) % 256], -1) + rng.normal(0, 6, (3000, 4000, 3))
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(files["jpeg"], quality=90)
    for key, seconds in (("video30", 30), ("video60", 60)):
        if key in files and not files[key].exists():
            subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc2=size=1920x1080:rate=30:duration={seconds}", "-c:v", "libx264",
                            "-preset", "veryfast", "-pix_fmt", "yuv420p", str(files[key])], check=True)
    for key, seconds in (("audio30", 30), ("audio60", 60)):
        if not files[key].exists():
            subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            f"sine=frequency=330:sample_rate=44100:duration={seconds}", "-ac", "2",
                            "-c:a", "libmp3lame", "-b:a", "128k", str(files[key])], check=True)
    return files


def bench_image(path: Path, runs: int) -> None:
    from PIL import Image

    from mimo_desktop.media.config import default_config
    from mimo_desktop.media.preparation import prepare

    cfg = default_config()

    def plain_pillow() -> object:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))

    from mimo_desktop.media.costs import estimate

    ours, base = best_of(runs, lambda: prepare(path, cfg)), best_of(runs, plain_pillow)
    header = best_of(runs, lambda: estimate(path, cfg))
    item = prepare(path, cfg)
    print(f"12 MP JPEG            prepare {ours:7.3f} s | Pillow decode+RGB {base:7.3f} s | "
          f"prepare/plain {ours / base:4.2f}x | header-only estimate {header * 1000:6.1f} ms  "
          f"({item.tokens} tokens, resized {item.resized})")


def _decode_everything(path: Path, indices: list[int], size: tuple[int, int]) -> object:
    """Baseline: decode the video front to back, keep the sampled frames, resize them with torch."""
    import torch
    import torch.nn.functional as F
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(str(path), num_ffmpeg_threads=0)
    wanted, kept = set(indices), []
    total = decoder.metadata.num_frames
    for start in range(0, total, 64):  # chunks keep memory bounded
        batch = decoder.get_frames_in_range(start, min(start + 64, total)).data
        kept += [batch[i - start] for i in range(start, min(start + 64, total)) if i in wanted]
    frames = torch.stack(kept).float()
    return F.interpolate(frames, size=size, mode="bilinear", align_corners=False).round().to(torch.uint8)


def _vllm_loader(path: Path, frames: int) -> Callable[[], object] | None:
    try:
        from vllm.multimodal.video import VIDEO_LOADER_REGISTRY
    except Exception as exc:  # vLLM missing or broken here: report and skip that column
        print(f"    (vLLM's video loader is not importable here: {type(exc).__name__})")
        return None
    loader = VIDEO_LOADER_REGISTRY.load("opencv")
    data = path.read_bytes()
    return lambda: loader.load_bytes(data, num_frames=frames, fps=2)


def bench_video(label: str, path: Path, runs: int) -> None:
    from mimo_desktop.media.config import default_config
    from mimo_desktop.media.plan import plan_video
    from mimo_desktop.media.preparation import prepare

    cfg = default_config().with_overrides(fps=2.0, max_frames=256, include_video_audio=False)
    item = prepare(path, cfg)  # warm-up: loads FFmpeg libraries
    video_plan = plan_video(1920, 1080, 30 * int(item.duration_s), 30.0, cfg)
    vllm = _vllm_loader(path, video_plan.num_frames)
    if vllm is not None:
        vllm()  # warm-up
    # alternate ours and vLLM's so both see the same load on this shared machine
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(measure(1, lambda: prepare(path, cfg)))
        if vllm is not None:
            theirs.append(measure(1, vllm))
    wall, cpu = min(w for w, _ in ours), min(c for _, c in ours)
    naive_wall, naive_cpu = measure(1, lambda: _decode_everything(path, list(video_plan.indices), video_plan.resized))
    line = (f"{label:21} prepare {wall:6.2f} s (cpu {cpu:6.2f} s) | decode-all {naive_wall:6.2f} s "
            f"(cpu {naive_cpu:6.2f} s): {naive_wall / wall:4.1f}x slower")
    if theirs:
        t_wall, t_cpu = min(w for w, _ in theirs), min(c for _, c in theirs)
        line += (f" | vLLM opencv loader {t_wall:6.2f} s (cpu {t_cpu:6.2f} s): "
                 f"{t_wall / wall:4.2f}x our time")
    from mimo_desktop.media.costs import estimate

    header = best_of(runs, lambda: estimate(path, cfg))
    print(line + f"\n    {item.details['frames']} frames, resized {item.resized}, {item.tokens} tokens; "
                 f"header-only estimate {header * 1000:.1f} ms")


def bench_audio(label: str, path: Path, runs: int) -> None:
    import torch

    from mimo_desktop.media.config import default_config
    from mimo_desktop.media.decode_av import decode_audio
    from mimo_desktop.media.tensors import AudioFeaturizer

    cfg = default_config()
    featurizer = AudioFeaturizer(cfg)

    def ours() -> object:
        wave, rate = decode_audio(str(path))
        return featurizer.features(featurizer.to_model_rate(wave, rate))

    ours()
    mine = best_of(runs, ours)
    line = f"{label:21} decode+features {mine:7.3f} s"
    try:
        from types import SimpleNamespace

        from vllm.transformers_utils.processors.mimo_v2_omni import MiMoOmniProcessor
    except Exception as exc:  # vLLM missing here
        print(line + f"  (vLLM not importable: {type(exc).__name__})")
        return
    hf = SimpleNamespace(vision_config={}, processor_config={}, audio_config=None, rope_scaling=None)
    reference = MiMoOmniProcessor.from_hf_config(SimpleNamespace(pad_token_id=0), hf).mimo_processor

    def theirs() -> object:
        wave, rate = decode_audio(str(path))
        return reference.preprocess_audio((wave.clone(), rate))

    theirs()
    ref = best_of(runs, theirs)
    _, tokens = featurizer.features(featurizer.to_model_rate(*decode_audio(str(path))))
    print(line + f" | same with vLLM's preprocess_audio {ref:7.3f} s (ratio {ref / mine:4.2f})  "
          f"[{tokens} audio tokens]")
    del torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 60 s video; 2 runs each")
    args = parser.parse_args()
    runs = 2 if args.quick else 3
    files = make_files(args.quick)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"best of {runs} runs")
    bench_image(files["jpeg"], runs)
    bench_video("30 s 1080p @2 fps", files["video30"], runs)
    if "video60" in files:
        bench_video("60 s 1080p @2 fps", files["video60"], runs)
    bench_audio("30 s MP3 audio", files["audio30"], runs)
    bench_audio("60 s MP3 audio", files["audio60"], runs)


if __name__ == "__main__":
    main()
