"""Helpers for the GPU proof: GPU count without importing torch's CUDA state early,
child processes from /proc (no psutil needed), media for the tiny Omni model."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np


def cuda_gpu_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int | None = None) -> list[tuple[int, str, int]]:
    """(pid, command line or process title, depth) of every live descendant of ``pid``."""
    tree, todo, found = _children(), [(pid or os.getpid(), 0)], []
    while todo:
        parent, depth = todo.pop()
        for child in tree.get(parent, []):
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                found.append((child, cmd, depth + 1))
            todo.append((child, depth + 1))
    return found


def gpu_workers() -> list[tuple[int, str]]:
    """vLLM's GPU worker processes: titled VLLM::Worker_* (setproctitle), else EngineCore's children."""
    procs = descendants()
    titled = [(pid, cmd) for pid, cmd, _ in procs if "Worker" in cmd]
    if titled:
        return titled
    return [(pid, cmd) for pid, cmd, depth in procs if depth == 2 and "resource_tracker" not in cmd]


def random_image(width: int = 640, height: int = 480, seed: int = 0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), "RGB")


def random_video(frames: int = 8, width: int = 320, height: int = 240, fps: float = 2.0):
    """(frames uint8 T×C×H×W, timestamps) as the media layer hands it to vLLM."""
    import torch

    gen = torch.Generator().manual_seed(1)
    pixels = torch.randint(0, 255, (frames, 3, height, width), dtype=torch.uint8, generator=gen)
    return pixels, torch.arange(frames, dtype=torch.float32) / fps


def tone(seconds: float = 3.0, rate: int = 24000):
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate


def record(results_dir: Path, name: str, data: dict) -> None:
    """Append one result (printed too, so it is in the log) for docs/gpu.md."""
    line = json.dumps({"name": name, **data}, default=str)
    print("RESULT", line)
    with open(results_dir / "results.jsonl", "a") as f:
        f.write(line + "\n")


def media_layer_video_count(model_dir: Path, frames, times) -> tuple[object, int, list[str]]:
    """(config, tokens, timestamp texts) the media layer computes for a (frames, timestamps) item,
    from the model folder's config alone (no decoding: torchcodec is not on the GPU host)."""
    from mimo_desktop.media import plan
    from mimo_desktop.media.config import load_model_config

    cfg = load_model_config(model_dir)
    count, _, height, width = frames.shape
    video_plan = plan.plan_video(width, height, count, 1.0 / float(times[1] - times[0]), cfg)
    assert video_plan.num_frames == count, f"the plan samples {video_plan.num_frames} of {count} frames"
    tokens, texts = plan.video_tokens(video_plan, times.tolist(), cfg)
    return cfg, tokens, texts


def video_timestamp_texts(prompt_text: str) -> list[str]:
    """The MM:SS texts vLLM wrote inside the prompt's video (between MiMo's video start and end)."""
    import re

    start, end = prompt_text.index("<|mimo_video_start|>"), prompt_text.index("<|mimo_video_end|>")
    return re.findall(r"\d\d:\d\d", prompt_text[start:end])


def start_engine(settings, timeout_s: float):
    """The app's EngineHost over a VllmEngine, started and waited for until ready (or dead).

    Returns (host, recorder, seconds the start took)."""
    from engine_events import Recorder

    from mimo_desktop.engine import EngineHost
    from mimo_desktop.engine.vllm_engine import VllmEngine

    recorder = Recorder()
    host = EngineHost(lambda: VllmEngine(settings, stats_interval_s=0.5), recorder)
    t0 = time.monotonic()
    host.start()
    recorder.wait_for(lambda evs: host.state in ("ready", "dead"), timeout=timeout_s)
    return host, recorder, time.monotonic() - t0
