"""How much memory does preparing a file take, and how much stays once it is dropped?

    .venv/bin/python bench/media_memory.py [--quick] [CASE ...]

Each case runs in a fresh child process. The child first warms up (imports the media stack and
prepares a 1 s WAV, as the app has after its first attachment), then resets the kernel's peak-RSS
mark (``/proc/self/clear_refs`` 5), prepares the file, reads the peak (VmHWM) and the RSS, drops the
prepared item (the chip is removed) and reads the RSS again. Figures are MB above that warm idle
state; "anon peak" is the highest RssAnon (sampled every 20 ms), the memory that is the process's
alone: VmHWM also counts file pages while they are mapped and resident, which a spilled video's
frames (``media.spill``) are only briefly. The baseline, in the same run, is the former path on 10 minutes of MP3: the whole file
decoded at once and torchaudio's Resample on it.

Files are generated once into /tmp/mimo-bench-memory with the ffmpeg CLI (the long ones take minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OUT = Path("/tmp/mimo-bench-memory")
MB = 1024 * 1024

# name -> (file, ffmpeg input args, ffmpeg output args)
FILES = {
    "wav16033_3s": ("odd16033.wav", ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16033:duration=3"], []),
    "mp3_10min": ("mp3_10m.mp3", ["-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100:duration=600"],
                  ["-ac", "2", "-c:a", "libmp3lame", "-b:a", "64k"]),
    "ogg_2h": ("ogg2h.ogg", ["-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100:duration=7200"],
               ["-ac", "2", "-c:a", "libvorbis", "-q:a", "0"]),
    # 2:59:50: an MP3's header rounds up past the exact 3:00:00 limit, which would be refused before decoding
    "mp3_3h": ("mp3_3h.mp3", ["-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100:duration=10790"],
               ["-ac", "2", "-c:a", "libmp3lame", "-b:a", "32k"]),
    "video_10min_1080p": ("video10m.mp4", ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=600"],
                          ["-c:v", "libx264", "-preset", "ultrafast", "-g", "240", "-pix_fmt", "yuv420p"]),
}
# The 10-minute 1080p clip (ultrafast x264) is 1.08 GiB: it is the 1 GiB video sent to a remote server too.
CASES = ["baseline_whole_decode_mp3_10min", "mp3_10min", "wav16033_3s", "ogg_2h", "mp3_3h",
         "video_10min_1080p_in_memory", "video_10min_1080p", "remote_send_video_10min_1080p"]
QUICK = ["baseline_whole_decode_mp3_10min", "mp3_10min", "wav16033_3s"]


def file_for(case: str) -> Path:
    key = {"baseline_whole_decode_mp3_10min": "mp3_10min", "remote_send_video_10min_1080p": "video_10min_1080p",
           "video_10min_1080p_in_memory": "video_10min_1080p"}.get(case, case)
    name, inputs, outputs = FILES[key]
    path = OUT / name
    if not path.exists():
        ffmpeg = shutil.which("ffmpeg") or sys.exit("the ffmpeg command is needed to make the test files")
        OUT.mkdir(exist_ok=True)
        print(f"  (making {name}…)", flush=True)
        subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *inputs, *outputs, str(path)], check=True)
    return path


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


class _AnonPeak(threading.Thread):
    """The kernel keeps no peak of RssAnon (memory that is the process's alone, not file pages):
    sample it every 20 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self._done = 0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, _status("RssAnon"))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(self.peak, _status("RssAnon"))


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


class _Discard(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        left = int(self.headers["Content-Length"])
        while left:
            left -= len(self.rfile.read(min(left, 1 << 20)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _send_remote(item) -> None:
    """The remote engine's body (build_body + json_request_content) posted to a loopback server."""
    import httpx

    from mimo_desktop.media.openai_parts import json_request_content

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discard)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": [
        *[dict(part.openai_part) for part in item.items()], {"type": "text", "text": "What happens?"}]}]}

    async def post() -> None:
        headers, content = await json_request_content(body)
        async with httpx.AsyncClient(timeout=600) as client:
            (await client.post(f"http://127.0.0.1:{server.server_address[1]}/", content=content,
                               headers=headers)).raise_for_status()

    asyncio.run(post())
    server.shutdown()


def child(case: str) -> dict:
    import wave

    import numpy as np

    from mimo_desktop.media.memory import give_back_memory
    from mimo_desktop.media.preparation import prepare

    from mimo_desktop.media import spill

    spill.set_folder(OUT / "spill")  # not the user's data folder
    path = file_for(case)
    warm = OUT / "warm.wav"
    with wave.open(str(warm), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(44100)
        w.writeframes((np.sin(np.arange(44100) / 9.0) * 8000).astype("<i2").tobytes())
    prepare(warm)
    give_back_memory()
    if case.endswith("_in_memory"):  # the frames held in anonymous memory, as before the spill file
        spill.SPILL_ABOVE = 1 << 62
    idle, idle_anon = _status("VmRSS"), _status("RssAnon")
    _reset_peak()
    anon = _AnonPeak()
    anon.start()
    start = time.perf_counter()
    if case.startswith("baseline"):
        import torchaudio
        from torchcodec.decoders import AudioDecoder

        samples = AudioDecoder(str(path)).get_all_samples()
        item = torchaudio.transforms.Resample(samples.sample_rate, 24000)(samples.data).mean(dim=0)
        del samples
    else:
        item = prepare(path)
        if case.startswith("remote"):
            _send_remote(item)
    seconds = time.perf_counter() - start
    peak, held, anon_peak = _status("VmHWM"), _status("VmRSS"), anon.stop()
    del item
    give_back_memory()  # what the composer does when a chip is removed
    kept = _status("VmRSS")
    return {"case": case, "file_mb": path.stat().st_size / MB, "seconds": seconds, "idle_mb": idle / MB,
            "peak_mb": (peak - idle) / MB, "held_mb": (held - idle) / MB, "kept_mb": (kept - idle) / MB,
            "anon_peak_mb": (anon_peak - idle_anon) / MB}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the short cases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    cases = args.cases or (QUICK if args.quick else CASES)
    print(f"{os.cpu_count()} CPUs; MB above the warm idle process (media stack imported, one file prepared)")
    print(f"{'case':34} {'file MB':>8} {'time s':>7} {'peak MB':>8} {'held MB':>8} {'kept MB':>8} "
          f"{'anon peak':>9}")
    rows = {}
    for case in cases:
        file_for(case)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        out = subprocess.run([sys.executable, __file__, "--child", case], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            print(f"{case:34} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
            continue
        r = rows[case] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{case:34} {r['file_mb']:8.1f} {r['seconds']:7.2f} {r['peak_mb']:8.0f} {r['held_mb']:8.0f} "
              f"{r['kept_mb']:8.0f} {r['anon_peak_mb']:9.0f}", flush=True)
    if "baseline_whole_decode_mp3_10min" in rows and "mp3_10min" in rows:
        base, ours = rows["baseline_whole_decode_mp3_10min"], rows["mp3_10min"]
        print(f"10 min MP3: peak {base['peak_mb'] / max(ours['peak_mb'], 1):.1f}x lower than the whole-file "
              f"decode + torchaudio Resample ({base['peak_mb']:.0f} -> {ours['peak_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
