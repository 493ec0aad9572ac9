"""Small previews for the UI: a thumbnail, a video's poster frame and length, a waveform.

Numbers and arrays only (numpy uint8 H×W×3 pictures, float peaks in 0…1); the
UI turns them into widgets. Cheap on purpose: JPEG draft decoding, one video
frame scaled by FFmpeg, audio decoded at a low rate.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from mimo_desktop.media.config import default_config
from mimo_desktop.media.errors import CorruptMediaError, EmptyMediaError, MediaError
from mimo_desktop.media.preparation import SourceLike, open_source, read_source
from mimo_desktop.media.sniff import sniff

PREVIEW_SIDE = 256
WAVEFORM_PEAKS = 200
# Enough to draw 200 peaks of speech or music; decoding at 8 kHz is several times cheaper.
_WAVEFORM_RATE = 8000


@dataclass(frozen=True)
class Preview:
    kind: str  # "image" | "video" | "audio"
    picture: np.ndarray | None = None  # H×W×3 uint8: thumbnail or poster frame
    peaks: np.ndarray | None = None  # float32 in 0…1, one per slice of the sound
    duration_s: float | None = None


def preview(source: SourceLike, side: int = PREVIEW_SIDE, peaks: int = WAVEFORM_PEAKS) -> Preview:
    """The preview that suits the file's kind; raises ``MediaError`` like ``prepare``."""
    src = open_source(source, default_config())
    sniffed = sniff(src.head)
    if sniffed.kind == "image":
        return Preview("image", picture=image_thumbnail(read_source(source, default_config())[0], side))
    from mimo_desktop.media import decode_av

    if sniffed.kind == "audiovisual" and decode_av.probe_video(src.av) is not None:
        picture, duration = video_poster(src.av, side)
        return Preview("video", picture=picture, duration_s=duration)
    wave, duration = audio_waveform(src.av, peaks)
    return Preview("audio", peaks=wave, duration_s=duration)


def image_thumbnail(data: bytes, side: int = PREVIEW_SIDE) -> np.ndarray:
    """Upright RGB thumbnail whose longer side is at most ``side``."""
    from PIL import Image, ImageOps

    from mimo_desktop.media.decode_image import open_image, to_rgb

    image = open_image(data, default_config().max_image_pixels)
    try:
        image.draft("RGB", (side, side))  # JPEG: decode at 1/2…1/8 scale directly
        image = ImageOps.exif_transpose(image)
        image.thumbnail((side, side), Image.Resampling.BILINEAR)
        return np.array(to_rgb(image))
    except Exception as exc:  # hostile bytes make Pillow raise many types
        raise CorruptMediaError(f"The picture is damaged or cut short ({type(exc).__name__}).") from None


def video_poster(data: bytes | str, side: int = PREVIEW_SIDE) -> tuple[np.ndarray, float]:
    """A frame a tenth of the way in (past black intros, at most 2 s in) and the duration."""
    from mimo_desktop.media import decode_av

    info = decode_av.probe_video(data)
    if info is None or info.num_frames <= 0:
        raise EmptyMediaError("The video has no frames.")
    width, height = info.display_size
    scale = min(1.0, side / max(width, height))
    size = (max(2, round(height * scale)), max(2, round(width * scale)))
    index = min(info.num_frames - 1, int(min(info.duration_s * 0.1, 2.0) * info.fps))
    frames, _, _ = decode_av.decode_frames(data, [index], size)
    return frames[0].permute(1, 2, 0).contiguous().numpy(), info.duration_s


def audio_waveform(data: bytes | str | io.BytesIO, peaks: int = WAVEFORM_PEAKS) -> tuple[np.ndarray, float]:
    """Loudest |sample| of each of ``peaks`` equal slices (the loudest slice is 1) and the duration."""
    from torchcodec.decoders import AudioDecoder

    from mimo_desktop.media.decode_av import explain_ffmpeg_error

    try:
        samples = AudioDecoder(data, sample_rate=_WAVEFORM_RATE, num_channels=1).get_all_samples()
    except Exception as exc:  # torchcodec surfaces FFmpeg failures as assorted exception types
        raise explain_ffmpeg_error(exc, "audio") from None
    wave = np.abs(samples.data.numpy().reshape(-1))
    if wave.size == 0:
        raise EmptyMediaError("The audio has no samples.")
    return waveform_peaks(wave, peaks), wave.size / _WAVEFORM_RATE


def waveform_peaks(wave: np.ndarray, peaks: int) -> np.ndarray:
    """Slice by slice: a 3-hour signal (1 GB) is never copied whole to take its absolute value."""
    wave = np.asarray(wave).reshape(-1)
    if wave.size == 0:
        return np.zeros(0, np.float32)
    slices = np.array_split(wave, min(peaks, wave.size))  # views
    out = np.array([np.nan_to_num(np.abs(s.astype(np.float32, copy=False))).max() for s in slices],
                   dtype=np.float32)
    top = float(out.max())
    return out / top if top > 0 else out


__all__ = ["MediaError", "Preview", "audio_waveform", "image_thumbnail", "preview", "video_poster",
           "waveform_peaks"]
