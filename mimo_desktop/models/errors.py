"""Errors of the model manager, each with a message a person can act on."""

from __future__ import annotations

from pathlib import Path


class ModelsError(Exception):
    """Base class: ``str(error)`` is a complete sentence for the user."""


class ModelFolderError(ModelsError):
    """The path given as a model folder cannot be checked at all."""


class ShardHeaderError(ModelsError):
    """A weight file is not a readable safetensors file."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name} is not a usable safetensors file: {reason}.")
        self.path = path
        self.reason = reason


class FitError(ModelsError):
    """The fit estimate was asked something it cannot answer (bad TP size, no model shape)."""


class DownloadError(ModelsError):
    """A download could not start or could not finish."""


class NotEnoughDiskError(DownloadError):
    """The target disk has less free space than the files still to fetch."""

    def __init__(self, folder: Path, needed: int, free: int) -> None:
        from mimo_desktop.models.units import format_bytes

        super().__init__(
            f"Not enough disk space in {folder}: the download needs {format_bytes(needed)} more "
            f"but only {format_bytes(free)} is free. Free up {format_bytes(needed - free)} or choose "
            "another folder."
        )
        self.folder = folder
        self.needed = needed
        self.free = free


class DownloadCancelled(DownloadError):
    """The user cancelled; the files fetched so far stay and the next download resumes them."""

    def __init__(self) -> None:
        super().__init__("Download cancelled. Start it again to resume where it stopped.")


class RepoAccessError(DownloadError):
    """The repository does not exist, is private or gated, or the token was refused."""
