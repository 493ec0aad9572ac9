"""Pictures with Pillow: orientation applied, every mode turned into plain 8-bit RGB, bombs refused."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mimo_desktop.media.errors import CorruptMediaError, MediaTooLargeError, UnsupportedMediaError

# EXIF orientations 5-8 swap width and height.
_SWAPS_SIDES = {5, 6, 7, 8}


@dataclass(frozen=True)
class ImageHeader:
    width: int  # after EXIF orientation
    height: int
    format: str
    mode: str
    orientation: int
    frames: int


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; treat both as "too large"
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaTooLargeError(
            f"The picture claims more than {(Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} million pixels; "
            "refusing it (it could be a decompression bomb)."
        ) from None
    except UnidentifiedImageError:
        raise CorruptMediaError("The picture is damaged or not really a picture (Pillow cannot identify it).") from None
    except Exception as exc:  # Pillow's parsers raise almost anything on hostile bytes (IndexError, struct.error…)
        raise CorruptMediaError(f"The picture is damaged: {_reason(exc)}.") from None
    width, height = image.size
    if width * height > max_pixels:
        raise MediaTooLargeError(
            f"The picture is {width}×{height} ({width * height / 1e6:.0f} MP); the limit is {max_pixels / 1e6:.0f} MP."
        )
    return image


def read_image_header(data: bytes, max_pixels: int) -> ImageHeader:
    """Size (oriented), format and mode without decoding the pixels."""
    image = open_image(data, max_pixels)
    try:
        orientation = int(image.getexif().get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block must not stop us; Pillow raises many types here
        orientation = 1
    width, height = image.size
    if orientation in _SWAPS_SIDES:
        width, height = height, width
    try:
        frames = int(getattr(image, "n_frames", 1))  # GIF/WebP/TIFF walk their frames to count them
    except Exception as exc:  # see open_image
        raise CorruptMediaError(f"The picture is damaged: {_reason(exc)}.") from None
    return ImageHeader(width, height, (image.format or "").lower(), image.mode, orientation, frames)


def decode_image(data: bytes, max_pixels: int) -> Image.Image:
    """An 8-bit RGB picture, upright, first frame of an animation, transparency over white."""
    image = open_image(data, max_pixels)
    try:
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image)
        return to_rgb(image)
    except Image.DecompressionBombError:
        raise MediaTooLargeError("The picture is too large to open safely (a possible decompression bomb).") from None
    except UnsupportedMediaError:
        raise
    except Exception as exc:  # see open_image: hostile bytes make Pillow raise many types
        raise CorruptMediaError(f"The picture is damaged or cut short: {_reason(exc)}.") from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip().rstrip(".")
    return text[:160] if text else type(exc).__name__


def to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return Image.fromarray(_high_depth_to_8bit(image)).convert("RGB")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "RGBa", "La"):
        # transparent pixels would otherwise turn black and hide dark drawings
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("1", "L", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return image.convert("RGB")
    if image.mode == "RGB":
        return image
    raise UnsupportedMediaError(f"Pictures in Pillow's {image.mode!r} mode are not supported.")


def _high_depth_to_8bit(image: Image.Image) -> np.ndarray:
    values = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
    if image.mode == "F":
        top = max(values.max(initial=1.0), 1e-9)
    return np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
