"""Where does the time of a sampled 1080p video go? The decoding floor beside ours and vLLM's loader.

    .venv/bin/python bench/media_video_floor.py [--runs N] [--seconds 60]

On the clip of ``bench/media_prepare.py`` (1920×1080 H.264 at 30 fps, x264 veryfast, 2 fps sampled),
in one process, interleaved run by run so every line sees the same load:
  - the ffmpeg CLI decoding every frame to ``-f null`` with 1 and 2 threads (no colour conversion),
    and with ``-skip_frame noref`` (what skipping the frames no other frame refers to would leave);
  - torchcodec's packet decoder (``Demuxer`` + ``VideoPacketDecoder``) decoding every packet, no
    colour conversion, 1 and 2 FFmpeg threads: the floor of any loader built on torchcodec;
  - ``prepare()`` (ours; and with every picture decoded, the path before ``video_packets``) and vLLM
    0.33's OpenCV loader, the same frame count.
Prints wall and CPU seconds (children's CPU for the CLI), best of N.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import media_prepare  # noqa: E402


def _cli(path: Path, threads: int, extra: list[str]) -> None:
    subprocess.run([shutil.which("ffmpeg"), "-hide_banner", "-loglevel", "error", "-threads", str(threads),
                    *extra, "-i", str(path), "-map", "0:v:0", "-f", "null", "-"], check=True)


def _packets(path: Path, threads: int) -> int:
    from torchcodec.decoders import Demuxer

    demuxer = Demuxer(str(path), streams="video")
    decoder = demuxer.streams[0].make_decoder(num_ffmpeg_threads=threads)
    count = sum(len(decoder.decode(packet)) for packet in demuxer)
    return count + len(decoder.drain())


def _all_pictures(fn):
    """``fn`` with the packet path off: every picture decoded by VideoDecoders (runs of GOPs)."""
    from mimo_desktop.media import decode_av

    decode_av._SKIP_UNREFERENCED = False
    try:
        return fn()
    finally:
        decode_av._SKIP_UNREFERENCED = True


def _timed(fn) -> tuple[float, float]:
    """Wall, and CPU of this process and its finished children."""
    own, kids = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    fn()
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, time.process_time() - own + (after.ru_utime + after.ru_stime - kids.ru_utime - kids.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=60, choices=(30, 60))
    parser.add_argument("--only", nargs="*", help="names of the lines to run")
    args = parser.parse_args()
    files = media_prepare.make_files(quick=args.seconds == 30)
    path = files[f"video{args.seconds}"]

    from mimo_desktop.media.config import default_config
    from mimo_desktop.media.plan import plan_video
    from mimo_desktop.media.preparation import prepare

    cfg = default_config().with_overrides(fps=2.0, max_frames=256, include_video_audio=False)
    item = prepare(path, cfg)
    frames = plan_video(1920, 1080, 30 * int(item.duration_s), 30.0, cfg).num_frames
    vllm = media_prepare._vllm_loader(path, frames)
    lines = {
        "ffmpeg CLI -threads 1, all frames to null": lambda: _cli(path, 1, []),
        "ffmpeg CLI -threads 2, all frames to null": lambda: _cli(path, 2, []),
        "ffmpeg CLI -threads 1 -skip_frame noref": lambda: _cli(path, 1, ["-skip_frame", "noref"]),
        "torchcodec packet decoder, 1 thread, no RGB": lambda: _packets(path, 1),
        "torchcodec packet decoder, 2 threads, no RGB": lambda: _packets(path, 2),
        "prepare(), every picture decoded (before)": lambda: _all_pictures(lambda: prepare(path, cfg)),
        "prepare() (ours)": lambda: prepare(path, cfg),
    }
    if vllm is not None:
        vllm()
        lines["vLLM 0.33 OpenCV loader"] = vllm
    if args.only:
        lines = {k: v for k, v in lines.items() if any(o in k for o in args.only)}
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.runs):
        for name, fn in lines.items():
            wall, cpu = _timed(fn)
            old = best.get(name)
            best[name] = (min(wall, old[0]) if old else wall, min(cpu, old[1]) if old else cpu)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.seconds} s 1080p, "
          f"{frames} frames sampled at 2 fps; best of {args.runs}")
    for name, (wall, cpu) in best.items():
        print(f"  {name:46} {wall:6.2f} s wall  {cpu:6.2f} s cpu")
    if "prepare() (ours)" in best and "vLLM 0.33 OpenCV loader" in best:
        print(f"  vLLM / ours: {best['vLLM 0.33 OpenCV loader'][0] / best['prepare() (ours)'][0]:.2f}x (wall)")


if __name__ == "__main__":
    main()
