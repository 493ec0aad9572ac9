"""Video preparation on a many-core host: prepare() against vLLM 0.33's OpenCV way and against
torchcodec decoding every frame, plus video_spread's parallelism grid.

    python3 bench/media_host.py --clip CLIP [--sections info,headline,grid] [--fps 2] [--runs 5]

Sections (comma-separated):
  info      cores, CPU model, library versions;
  headline  at each --fps: prepare() (best of --runs, wall and CPU of all threads), decode_frames
            with and without the shrink, vLLM 0.33's OpenCV loader (the real one where vLLM imports,
            else the same calls it makes: grab every frame up to the last sampled one, retrieve and
            convert the sampled ones), and torchcodec decoding all frames to RGB;
  grid      at the first --fps: prepare() for each (runs of GOPs, FFmpeg threads per decoder),
            set from outside through video_spread / decode_av internals (no library change);
            each setting's frames are checked equal to the default's (--grid 8x1,8x2,16x1: only those);
  knobs     at the first --fps: every combination of decode_av module settings given by --knobs
            ("_ffmpeg_threads=8|16;_RUNS_PER_THREAD=1|2"), frames checked the same way.
bench/media_host.sh stages it for a host without FFmpeg (see docs/benchmarks.md, "Video on the H200 host").
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from media_prepare import measure  # bench/ (media_host.sh puts it on the path on the host)

os.environ.setdefault("MIMO_DESKTOP_HOME", "/tmp/mimo-home")  # spill files of long clips land here


def fmt(wall: float, cpu: float) -> str:
    return f"{wall:6.3f} s (cpu {cpu:6.2f} s)"


def config(fps: float):
    from mimo_desktop.media.config import default_config

    return default_config().with_overrides(fps=fps, max_frames=256, include_video_audio=False)


def section_info(clip: Path) -> None:
    import torch
    import torchcodec

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    print(f"host: {platform.node()}, {platform.machine()}, os.cpu_count {os.cpu_count()}, "
          f"affinity {len(os.sched_getaffinity(0))}, CPU {model}")
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        gpu = "none"
    print(f"GPU: {gpu or 'none'}")
    print(f"Python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"torchcodec {torchcodec.__version__}, numpy {np.__version__}")
    try:
        from torchcodec._core import get_ffmpeg_library_versions

        print(f"FFmpeg libraries: {get_ffmpeg_library_versions()}")
    except Exception as exc:  # private helper: report, don't fail
        print(f"FFmpeg libraries: ? ({type(exc).__name__})")
    try:
        import cv2

        print(f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads")
    except ImportError:
        print("OpenCV: not importable")
    from mimo_desktop.media import decode_av, video_spread

    info = decode_av.probe_video(str(clip))
    keys = video_spread.key_frames(str(clip))
    print(f"clip: {clip.name}, {clip.stat().st_size / 1e6:.1f} MB, {info.width}x{info.height}, {info.fps:g} fps, "
          f"{info.num_frames} frames, {info.duration_s:.2f} s, {info.codec}, {len(keys or [])} GOPs "
          f"(keyframes {keys[:3] if keys else None}...)")


# ---- vLLM 0.33's OpenCV loader, as its calls are (vllm/multimodal/video_decoders/opencv.py) ----

def _cv2_api(cv2) -> int | None:
    import cv2.videoio_registry as vr

    for backend in vr.getStreamBufferedBackends():
        if not vr.hasBackend(backend):
            continue
        if not vr.isBackendBuiltIn(backend):
            _, abi, api = vr.getStreamBufferedBackendPluginVersion(backend)
            if abi < 1 or (abi == 1 and api < 2):
                continue
        return backend
    return None


def _cv2_capture(cv2, data: bytes):
    cap = cv2.VideoCapture(io.BytesIO(data), _cv2_api(cv2), [])
    if not cap.isOpened():
        raise ValueError("Could not open video stream")
    return cap


def opencv_like_vllm(data: bytes, num_frames: int, fps: float) -> np.ndarray:
    """VideoBackend.load_bytes(backend="opencv") without vLLM: open from bytes, read the metadata
    with a second capture (frame count, fps, end-of-stream seek check), sample uniformly, then
    grab every frame up to the last sampled one and retrieve + BGR→RGB only the sampled ones."""
    import cv2

    cap = _cv2_capture(cv2, data)
    meta = _cv2_capture(cv2, data)
    total, src_fps = int(meta.get(cv2.CAP_PROP_FRAME_COUNT)), meta.get(cv2.CAP_PROP_FPS)
    if meta.set(cv2.CAP_PROP_POS_AVI_RATIO, 1.0):
        visible = int(meta.get(cv2.CAP_PROP_POS_FRAMES))
        at_end = not meta.grab()
        meta.set(cv2.CAP_PROP_POS_FRAMES, 0)
        if at_end and 0 < visible < total - 1:
            total = visible
    duration = total / src_fps if src_fps > 0 else 0
    count = max(1, min(num_frames, total, math.floor(duration * fps)))
    indices = list(range(count)) if count == total else np.linspace(0, total - 1, count, dtype=int).tolist()
    wanted = set(indices)
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frames = np.empty((len(wanted), height, width, 3), dtype=np.uint8)
    i = 0
    for idx in range(max(indices) + 1):
        if not cap.grab():
            continue
        if idx in wanted:
            ok, frame = cap.retrieve()
            if ok:
                frames[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                i += 1
    return frames[:i]


def vllm_opencv(data: bytes, num_frames: int, fps: float) -> tuple[str, Callable[[], object]]:
    try:
        from vllm.multimodal.video import VIDEO_LOADER_REGISTRY
    except Exception:  # vLLM not here: the same calls, by hand
        return "OpenCV as vLLM 0.33 calls it", lambda: opencv_like_vllm(data, num_frames, fps)
    loader = VIDEO_LOADER_REGISTRY.load("opencv")
    return "vLLM 0.33 opencv loader", lambda: loader.load_bytes(data, num_frames=num_frames, fps=fps)


def torchcodec_all(path: Path) -> int:
    """Every frame to RGB (FFmpeg picks the threads), 64 at a time, nothing kept."""
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(str(path), num_ffmpeg_threads=0)
    total = decoder.metadata.num_frames
    for start in range(0, total, 64):
        decoder.get_frames_in_range(start, min(start + 64, total))
    return total


def section_headline(clip: Path, fps_list: list[float], runs: int) -> None:
    from mimo_desktop.media import decode_av
    from mimo_desktop.media.plan import plan_video
    from mimo_desktop.media.preparation import prepare

    data = clip.read_bytes()
    info = decode_av.probe_video(str(clip))
    for fps in fps_list:
        cfg = config(fps)
        item = prepare(clip, cfg)  # warm-up: FFmpeg libraries, page cache
        vp = plan_video(info.width, info.height, info.num_frames, info.fps, cfg)
        indices = list(vp.indices)
        print(f"@{fps:g} fps: {item.details['frames']} frames -> {item.resized}, {item.tokens} tokens")
        print(f"  prepare()                      {fmt(*measure(runs, lambda: prepare(clip, cfg)))}")
        shrink = vp.resized if vp.prescale_safe else None
        print(f"  decode_frames, shrunk          "
              f"{fmt(*measure(runs, lambda: decode_av.decode_frames(str(clip), indices, shrink)))}")
        print(f"  decode_frames, full size       "
              f"{fmt(*measure(runs, lambda: decode_av.decode_frames(str(clip), indices, None)))}")
        label, loader = vllm_opencv(data, vp.num_frames, fps)
        loader()
        got = loader()
        n = len(got[0]) if isinstance(got, tuple) else len(got)
        print(f"  {label:30} {fmt(*measure(runs, loader))}  [{n} frames, full size, RGB]")
    print(f"  torchcodec, all frames to RGB  {fmt(*measure(min(runs, 3), lambda: torchcodec_all(clip)))}")


@contextlib.contextmanager
def setting(runs: int, per_decoder: int, seen: list[int]) -> Iterator[None]:
    """prepare() decoding with at most ``runs`` runs of GOPs and ``per_decoder`` FFmpeg threads
    each (runs == 1: one decoder, no keyframe scan, as before video_spread)."""
    from mimo_desktop.media import decode_av, video_spread

    saved = (decode_av._ffmpeg_threads, video_spread.split_at_key_frames, video_spread.decode_spread,
             video_spread.key_frames)
    split, spread, keys = saved[1], saved[2], saved[3]

    def split_runs(indices, key_list, _parts):
        result = split(indices, key_list, runs)
        seen.append(len(result))
        return result

    def spread_with(make, indices, found, _threads, chunk, sink, stop, progress=None):
        return spread(make, indices, found, len(found) * per_decoder, chunk, sink, stop, progress)

    decode_av._ffmpeg_threads = (lambda: per_decoder) if runs == 1 else (lambda: max(2, runs * per_decoder))
    video_spread.split_at_key_frames = split_runs
    video_spread.decode_spread = spread_with
    if runs == 1:
        video_spread.key_frames = lambda source: None
    try:
        yield
    finally:
        (decode_av._ffmpeg_threads, video_spread.split_at_key_frames, video_spread.decode_spread,
         video_spread.key_frames) = saved


GRID = [(r, t) for r in (1, 2, 4, 8, 16) for t in (1, 2, 4)] + [(1, 8), (1, 16)]


def section_grid(clip: Path, fps: float, runs: int, grid: list[tuple[int, int]] = GRID) -> None:
    import torch

    from mimo_desktop.media import decode_av
    from mimo_desktop.media.preparation import prepare

    cfg = config(fps)
    reference = prepare(clip, cfg).vllm_data[0]
    default_parts = decode_av._ffmpeg_threads()
    print(f"grid @{fps:g} fps, best of {runs} (default here: _ffmpeg_threads() = {default_parts}, "
          f"one FFmpeg thread per decoder when the runs fill it)")
    for r, t in grid:
        seen: list[int] = []
        with setting(r, t, seen):
            same = torch.equal(prepare(clip, cfg).vllm_data[0], reference)
            wall, cpu = measure(runs, lambda: prepare(clip, cfg))
        used = seen[-1] if seen else 1
        print(f"  runs<={r:2} (used {used:2}) x {t:2} threads  {fmt(wall, cpu)}"
              f"{'' if same else '  FRAMES DIFFER'}")


def section_knobs(clip: Path, fps: float, runs: int, spec: str) -> None:
    """prepare() for every combination of ``decode_av`` module settings, e.g.
    ``_ffmpeg_threads=8|16;_RUNS_PER_THREAD=1|2`` (a function is replaced by one returning the value)."""
    import ast
    import itertools

    import torch

    from mimo_desktop.media import decode_av
    from mimo_desktop.media.preparation import prepare

    cfg = config(fps)
    names, choices = [], []
    for part in filter(None, spec.split(";")):
        name, values = part.split("=", 1)
        names.append(name.strip())
        choices.append([ast.literal_eval(v) for v in values.split("|")])
    missing = [n for n in names if not hasattr(decode_av, n)]
    if missing:
        print(f"knobs: decode_av has no {missing}: skipped")
        return
    reference = prepare(clip, cfg).vllm_data[0]
    print(f"knobs @{fps:g} fps, best of {runs}")
    for combo in itertools.product(*choices):
        saved = {n: getattr(decode_av, n) for n in names}
        for n, v in zip(names, combo):
            setattr(decode_av, n, (lambda v=v: v) if callable(saved[n]) else v)
        try:
            same = torch.equal(prepare(clip, cfg).vllm_data[0], reference)
            wall, cpu = measure(runs, lambda: prepare(clip, cfg))
        finally:
            for n, v in saved.items():
                setattr(decode_av, n, v)
        label = ", ".join(f"{n}={v}" for n, v in zip(names, combo))
        print(f"  {label:62} {fmt(wall, cpu)}{'' if same else '  FRAMES DIFFER'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--sections", default="info,headline,grid")
    parser.add_argument("--fps", default="2,1", help="comma-separated; the grid uses the first")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--grid-runs", type=int, default=3)
    parser.add_argument("--grid", default="", help="settings RUNSxTHREADS,... (default: the full grid)")
    parser.add_argument("--knobs", default="", help="decode_av settings for the knobs section: NAME=V1|V2;...")
    args = parser.parse_args()
    sections = args.sections.split(",")
    fps_list = [float(f) for f in args.fps.split(",")]
    import mimo_desktop

    print(f"mimo_desktop from {Path(mimo_desktop.__file__).parent}; sections {sections}; {time.strftime('%F %T %Z')}")
    if "info" in sections:
        section_info(args.clip)
    if "headline" in sections:
        section_headline(args.clip, fps_list, args.runs)
    if "grid" in sections:
        grid = [tuple(int(n) for n in item.split("x")) for item in args.grid.split(",")] if args.grid else GRID
        section_grid(args.clip, fps_list[0], args.grid_runs, grid)
    if "knobs" in sections:
        section_knobs(args.clip, fps_list[0], args.grid_runs, args.knobs)


if __name__ == "__main__":
    main()
