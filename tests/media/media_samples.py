"""Real media files for the tests, made with Pillow and the ffmpeg CLI (once per session)."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

FFMPEG = shutil.which("ffmpeg")


def _scene(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A picture with structure (gradients, a bright square) so orientation mistakes show."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1), np.full_like(x, 96)], axis=-1)
    rgb[: h // 4, : w // 4] = (255, 255, 0)  # yellow square in the top-left corner
    rgb += rng.normal(0, 4, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def write_images(out: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}

    def save(name: str, image: Image.Image, **kw) -> None:
        files[name] = out / name
        image.save(files[name], **kw)

    rgb = Image.fromarray(_scene(480, 640))
    save("photo.jpg", rgb, quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    save("rotated_exif6.jpg", rgb, quality=90, exif=exif.tobytes())
    save("cmyk.jpg", rgb.convert("CMYK"), quality=90)
    save("gray.png", rgb.convert("L"))
    save("rgba.png", _with_alpha(rgb))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    save("palette.png", palette, transparency=0)
    deep = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    save("gray16.png", Image.fromarray(deep))
    save("photo.webp", rgb, quality=80)
    frames = [Image.fromarray(_scene(120, 160, s)) for s in range(3)]
    files["anim.gif"] = out / "anim.gif"
    frames[0].save(files["anim.gif"], save_all=True, append_images=frames[1:], duration=100, loop=0)
    save("photo.bmp", rgb)
    save("photo.tiff", rgb)
    save("odd_97x131.png", Image.fromarray(_scene(131, 97, 3)))
    save("tiny_5x7.png", Image.fromarray(_scene(7, 5, 4)))
    save("strip_1x5000.png", Image.fromarray(_scene(1, 5000, 5)))
    return files


def _with_alpha(rgb: Image.Image) -> Image.Image:
    rgba = rgb.convert("RGBA")
    alpha = np.full(rgba.size[::-1], 255, np.uint8)
    alpha[:, : rgba.width // 2] = 0  # left half fully transparent
    rgba.putalpha(Image.fromarray(alpha))
    return rgba


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


VIDEO_SPECS = {
    # name: (size, fps, seconds, video codec args, audio codec args or None)
    "clip.mp4": ("320x240", 30, 3.0, ["-c:v", "libx264", "-pix_fmt", "yuv420p"], ["-c:a", "aac"]),
    "silent.mkv": ("256x144", 25, 2.0, ["-c:v", "libx264", "-pix_fmt", "yuv420p"], None),
    "clip.webm": ("320x180", 24, 2.0, ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-b:v", "300k"],
                  ["-c:a", "libopus"]),
    "clip.avi": ("176x144", 15, 2.0, ["-c:v", "mpeg4"], ["-c:a", "libmp3lame"]),
    "clip.mov": ("240x320", 24, 1.5, ["-c:v", "libx264", "-pix_fmt", "yuv420p"], ["-c:a", "aac"]),
    "fast60.mp4": ("160x120", 60, 1.0, ["-c:v", "libx264", "-pix_fmt", "yuv420p"], None),
    "blink.mp4": ("160x120", 10, 0.3, ["-c:v", "libx264", "-pix_fmt", "yuv420p"], None),
    "long.mp4": ("128x96", 12, 12.0, ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "24"], ["-c:a", "aac"]),
}


def write_videos(out: Path) -> dict[str, Path]:
    files = {}
    for name, (size, fps, seconds, vcodec, acodec) in VIDEO_SPECS.items():
        args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}"]
        if acodec:
            args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
        files[name] = out / name
        _ffmpeg(*args, *vcodec, *(acodec or []), "-shortest", str(files[name]))
    # a phone-style clip: stored 320×240, flagged "turn 90°" for display
    files["rotated.mp4"] = out / "rotated.mp4"
    _ffmpeg("-i", str(files["clip.mp4"]), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(files["rotated.mp4"]))
    return files


AUDIO_SPECS = {
    # name: (rate, channels, seconds, codec args)
    "tone16k.wav": (16000, 1, 1.5, ["-c:a", "pcm_s16le"]),
    "stereo48k.wav": (48000, 2, 2.0, ["-c:a", "pcm_f32le"]),
    "tone.mp3": (44100, 2, 2.5, ["-c:a", "libmp3lame", "-b:a", "96k"]),
    "tone.flac": (22050, 1, 3.0, ["-c:a", "flac"]),
    "tone.opus.ogg": (48000, 1, 2.0, ["-c:a", "libopus", "-f", "ogg"]),
    "tone.m4a": (44100, 2, 2.0, ["-c:a", "aac"]),
    "voice.webm": (48000, 1, 1.2, ["-c:a", "libopus", "-f", "webm"]),
    "exact24k.wav": (24000, 1, 1.0, ["-c:a", "pcm_s16le"]),
    "blip.wav": (24000, 1, 0.05, ["-c:a", "pcm_s16le"]),
}


def write_audio(out: Path) -> dict[str, Path]:
    files = {}
    for name, (rate, channels, seconds, codec) in AUDIO_SPECS.items():
        files[name] = out / name
        layout = "stereo" if channels == 2 else "mono"
        _ffmpeg("-f", "lavfi", "-i", f"sine=frequency=330:sample_rate={rate}:duration={seconds}",
                "-ac", str(channels), "-channel_layout", layout, *codec, str(files[name]))
    return files


def write_bad_files(out: Path, good: dict[str, Path]) -> dict[str, Path]:
    """Broken inputs a user might drop on the app."""
    rng = np.random.default_rng(11)
    bad: dict[str, bytes] = {
        "empty.mp4": b"",
        "random.mp4": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "random.jpg": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "random.wav": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "notes.mp4": b"Shopping list:\n- eggs\n- milk\n" * 20,
        "huge_header.png": _png_header_only(100_000, 100_000),
    }
    for name, source in [("photo.jpg", "photo.jpg"), ("gray.png", "gray.png"), ("clip.mp4", "clip.mp4"),
                         ("tone16k.wav", "tone16k.wav"), ("tone.flac", "tone.flac"), ("clip.webm", "clip.webm")]:
        data = good[source].read_bytes()
        bad[f"truncated_{name}"] = data[: max(64, len(data) // 10)]
        flipped = bytearray(data)
        for pos in rng.integers(16, len(data), size=max(8, len(data) // 200)):
            flipped[pos] ^= 0xFF
        bad[f"flipped_{name}"] = bytes(flipped)
    files = {}
    for name, data in bad.items():
        files[name] = out / name
        files[name].write_bytes(data)
    return files


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a giant picture (a decompression bomb's calling card)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def video_without_frames(out: Path) -> Path:
    """An MP4 whose video track holds no frames at all."""
    path = out / "no_frames.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1", "-frames:v", "0",
            "-c:v", "libx264", str(path))
    return path


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
