"""What goes wrong with a file, in words a person understands.

Every failure of decoding or measuring a media file is a ``MediaError`` (a
``MimoError``, so the UI shows its message as is). The subclasses let callers
and tests tell the cases apart; the message always names the problem and, where
there is one, what to do about it.
"""

from __future__ import annotations

from mimo_desktop.core.errors import MimoError


class MediaError(MimoError):
    """A media file cannot be used as an attachment."""


class EmptyMediaError(MediaError):
    """The file has no bytes, no frames or no sound."""


class UnreadableMediaError(MediaError):
    """The file cannot be opened at all (missing, a folder, no permission)."""


class CorruptMediaError(MediaError):
    """The file says it is a known format but its contents are broken or cut short."""


class UnsupportedMediaError(MediaError):
    """Not an image, video or audio file we can read, or a codec FFmpeg lacks, or a shape MiMo refuses."""


class MediaTooLargeError(MediaError):
    """Too many pixels, too long, or too many bytes to prepare safely."""


class PreparationStopped(MediaError):
    """Preparing was stopped from outside (the app is closing): not the file's fault."""
