"""Prepared once: how long does a follow-up question about an earlier clip wait before it leaves?

    .venv/bin/python bench/media_followup.py [--seconds 60]

The clip (1080p H.264, 30 fps, with sound) is generated once into /tmp/mimo-bench-media. The first
question prepares it (what the composer does when it is attached). A follow-up question then needs
the earlier turn's media again (engine/history.prepare_history, the code the app runs):
  - baseline: no cache, the clip is decoded again (what every turn did before);
  - memory: the cache filled when the first question was sent;
  - disk: a fresh cache object reading attachments/.prepared (the app was restarted).
Prints the best of 3 runs of each, and the ratios.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

OUT = Path("/tmp/mimo-bench-media")


def make_clip(seconds: int) -> Path:
    path = OUT / f"followup{seconds}_1080p.mp4"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
                        "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=44100:duration={seconds}",
                        "-c:v", "libx264", "-preset", "veryfast", "-g", "240", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def best(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    clip = make_clip(args.seconds)

    from mimo_desktop.media.cache import PreparedCache
    from mimo_desktop.media.config import default_config
    from mimo_desktop.media.preparation import prepare
    from mimo_desktop.engine.history import MediaJob, prepare_history

    cfg = default_config()
    start = time.perf_counter()
    item = prepare(clip, cfg)  # the first question: attaching the clip
    first = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        stored = Path(folder) / item.sha256
        shutil.copyfile(clip, stored)  # the attachment store names files by their hash
        cache = PreparedCache(Path(folder) / ".prepared")
        cache.put(item)  # what the controller does when the question is sent (disk part in the background)

        def follow_up(with_cache):
            history = prepare_history(MediaJob("r", ((1, stored, item.sha256, "video"),), None, with_cache))
            assert history.by_message[1][0].tokens == item.tokens

        baseline = best(3, lambda: follow_up(None))
        memory = best(3, lambda: follow_up(cache))
        disk = best(3, lambda: follow_up(PreparedCache(Path(folder) / ".prepared")))
        frames = item.vllm_data[0]
    print(f"{args.seconds} s 1080p clip with sound: {item.details['frames']} frames at {item.resized}, "
          f"{frames.numel() / 1e6:.0f} MB of frames, {item.total_tokens} tokens")
    print(f"first question (prepare on attach)     {first:7.3f} s")
    print(f"follow-up, decoded again (baseline)    {baseline:7.3f} s")
    print(f"follow-up, memory cache                {memory:7.3f} s   ({baseline / memory:,.0f}x faster)")
    print(f"follow-up, disk cache (after restart)  {disk:7.3f} s   ({baseline / disk:,.0f}x faster)")


if __name__ == "__main__":
    main()
