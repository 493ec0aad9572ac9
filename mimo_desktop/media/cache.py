"""Prepared media kept for later turns, by content hash and processor settings: prepared once.

Every request sends the whole conversation, so without this an earlier clip was decoded again on
every follow-up question (~6 s for a minute of 1080p). Two levels:

- memory: a least-recently-used map bounded in bytes (the frames and samples it holds);
- disk: the arrays as ``.npy`` files beside the attachments (``attachments/.prepared``), read back
  memory-mapped (copy-on-write), so a hit costs milliseconds and no decoding. ``sweep`` removes the
  entries of attachments that are gone, then the least recently used ones over ``disk_bytes``;
  ``clear`` all of them.

Keys are ``sha256`` + a digest of every processor setting (the model folder included, whose
tokenizer prices a video's timestamps). No Qt; thread-safe.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mimo_desktop.media.config import ProcessorConfig
from mimo_desktop.media.prepared import PreparedMedia

MB = 1024 * 1024
_FORMAT = 1  # bump when the files' layout changes: older entries are then ignored and swept


def settings_key(cfg: ProcessorConfig) -> str:
    """A short digest of everything that changes what ``prepare`` produces."""
    fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in ("count_text",)}
    return hashlib.sha256(repr(sorted(fields.items())).encode()).hexdigest()[:16]


def item_bytes(item: PreparedMedia) -> int:
    total = 0
    for part in item.items():
        data = part.vllm_data
        if part.kind == "video":
            total += int(data[0].numel()) * data[0].element_size()
        elif part.kind == "audio":
            total += int(np.asarray(data[0]).nbytes)
        elif part.kind == "image":
            total += 3 * data.width * data.height
    return total


class PreparedCache:
    def __init__(self, folder: Path | None, memory_bytes: int = 512 * MB, disk_bytes: int = 8192 * MB) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.memory_bytes = memory_bytes
        self.disk_bytes = disk_bytes
        self._memory: OrderedDict[tuple[str, str], tuple[PreparedMedia, int]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------ lookups
    def get(self, sha256: str, cfg: ProcessorConfig, source: Path | None = None) -> PreparedMedia | None:
        """The prepared item, from memory or disk; None when it was never prepared with these settings.

        ``source``: where the file is now (it becomes the item's ``source`` and feeds its data URL)."""
        key = (sha256, settings_key(cfg))
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                item = hit[0]
                return item if source is None or item.source == source else _moved(item, source)
        item = self._load(key, source)
        if item is not None:
            self._remember(key, item)
        return item

    def put(self, item: PreparedMedia, cfg: ProcessorConfig | None = None, *, disk: bool = True) -> None:
        """Keep ``item`` (it must carry its ``sha256`` and settings); writing to disk may take a second."""
        settings = settings_key(cfg) if cfg is not None else item.settings
        if item.sha256 is None or settings is None:
            return
        key = (item.sha256, settings)
        self._remember(key, item)
        if disk and self.folder is not None and item.kind != "image":  # pictures decode in milliseconds
            self._save(key, item)

    def forget_memory(self) -> None:
        with self._lock:
            self._memory.clear()
            self._held = 0

    def clear(self) -> None:
        """Everything, memory and disk (when the attachments are cleared)."""
        self.forget_memory()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def sweep(self, keep: Callable[[str], bool]) -> int:
        """Remove disk entries whose attachment ``keep(sha256)`` says is gone, then the least recently
        used until the rest fit in ``disk_bytes``; returns how many."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        removed = 0
        kept = []  # (last use, bytes, entry)
        for entry in self.folder.glob("*/*"):
            sha = entry.name.split("-", 1)[0]
            if not keep(sha) or not (entry / "meta.json").is_file():
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
                continue
            try:
                kept.append(((entry / "meta.json").stat().st_mtime,
                             sum(f.stat().st_size for f in entry.iterdir()), entry))
            except OSError:
                continue
        total = sum(size for _, size, _ in kept)
        for _, size, entry in sorted(kept, key=lambda k: k[0]):
            if total <= self.disk_bytes:
                break
            shutil.rmtree(entry, ignore_errors=True)
            total -= size
            removed += 1
        return removed

    # ------------------------------------------------------------ memory
    def _remember(self, key: tuple[str, str], item: PreparedMedia) -> None:
        size = item_bytes(item)
        if size > self.memory_bytes:
            return  # the disk copy serves it
        with self._lock:
            old = self._memory.pop(key, None)
            if old is not None:
                self._held -= old[1]
            self._memory[key] = (item, size)
            self._held += size
            while self._held > self.memory_bytes and self._memory:
                _, (_, dropped) = self._memory.popitem(last=False)
                self._held -= dropped

    # ------------------------------------------------------------ disk
    def _entry(self, key: tuple[str, str]) -> Path:
        assert self.folder is not None
        return self.folder / key[0][:2] / f"{key[0]}-{key[1]}"

    def _save(self, key: tuple[str, str], item: PreparedMedia) -> None:
        entry = self._entry(key)
        if (entry / "meta.json").is_file():
            return
        tmp = entry.with_name(entry.name + f".tmp{os.getpid()}-{threading.get_ident()}")
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            meta = {"format": _FORMAT, "item": _save_part(item, tmp, "main")}
            if item.audio_track is not None:
                meta["track"] = _save_part(item.audio_track, tmp, "track")
            (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            os.replace(tmp, entry)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # a full disk only costs the next turn a decode

    def _load(self, key: tuple[str, str], source: Path | None) -> PreparedMedia | None:
        if self.folder is None:
            return None
        entry = self._entry(key)
        try:
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
            if meta.get("format") != _FORMAT:
                return None
            os.utime(entry / "meta.json")  # its last use, for sweep's least-recently-used order
            track = _load_part(meta["track"], entry, "track", None, (None, None)) if "track" in meta else None
            return _load_part(meta["item"], entry, "main", source, key, track)
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _save_part(item: PreparedMedia, folder: Path, name: str) -> dict[str, Any]:
    if item.kind == "video":
        frames, times = item.vllm_data
        _save_frames(frames, folder / f"{name}-frames-nhwc.npy")
        np.save(folder / f"{name}-times.npy", times.numpy())
    else:
        np.save(folder / f"{name}-audio.npy", np.asarray(item.vllm_data[0]))
    return {"kind": item.kind, "tokens": item.tokens, "resized": item.resized, "timestamps": item.timestamps,
            "duration_s": item.duration_s, "details": item.details, "estimate": item.estimate,
            "rate": item.vllm_data[1] if item.kind == "audio" else None,
            "mime": item.details.get("mime", ""), "from_file": item.source is not None}


def _save_frames(frames: Any, path: Path) -> None:
    """T×C×H×W frames as the T×H×W×C array they are views of (as decoded): a straight copy, and a
    spilled buffer (``spill``) is copied file to file by the kernel, never read into this process."""
    from mimo_desktop.media import spill

    nhwc = frames.permute(0, 2, 3, 1)
    source = spill.of(frames) if nhwc.is_contiguous() else None
    if source is None:
        np.save(path, nhwc.numpy())
        return
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
                "shape": tuple(nhwc.shape)})
        f.flush()
        source.copy_to(f.fileno())


def _load_frames(folder: Path, name: str) -> Any:
    import torch

    # copy-on-write maps: nothing is read until vLLM reads it, and the tensors stay writable
    nhwc = folder / f"{name}-frames-nhwc.npy"
    if nhwc.is_file():
        return torch.from_numpy(np.load(nhwc, mmap_mode="c")).permute(0, 3, 1, 2)
    return torch.from_numpy(np.load(folder / f"{name}-frames.npy", mmap_mode="c"))  # written before 2026-12


def _load_part(meta: dict, folder: Path, name: str, source: Path | None, key: tuple[str | None, str | None],
               track: PreparedMedia | None = None) -> PreparedMedia:
    import torch

    details = meta["details"]
    if meta["kind"] == "video":
        frames = _load_frames(folder, name)
        times = torch.from_numpy(np.load(folder / f"{name}-times.npy", mmap_mode="c"))
        data: Any = (frames, times)
        part = _file_part("video", {**details, "mime": meta["mime"]}, source, data)
    else:
        data = (np.load(folder / f"{name}-audio.npy", mmap_mode="c"), int(meta["rate"]))
        part = _file_part("audio", details, source if meta.get("from_file") else None, data)
    return PreparedMedia(
        kind=meta["kind"], tokens=int(meta["tokens"]), vllm_data=data, openai_part=part,
        source=source if meta.get("from_file") else None, sha256=key[0],
        resized=tuple(meta["resized"]) if meta["resized"] else None,
        timestamps=tuple(meta["timestamps"]) if meta["timestamps"] else None,
        duration_s=meta["duration_s"], details=details, estimate=bool(meta["estimate"]),
        audio_track=track, settings=key[1],
    )


def _file_part(kind: str, details: dict, source: Path | None, data: Any) -> Any:
    """The remote engine's content part of a video or sound, read from ``source`` when it is sent."""
    from mimo_desktop.media import openai_parts

    if kind == "video":
        mime = details.get("mime") or "video/" + details.get("format", "mp4")
        return openai_parts.LazyPart(lambda: openai_parts.video_part(mime, source, None))
    mono, rate = data
    fmt = details.get("format", "wav")
    return openai_parts.LazyPart(lambda: openai_parts.audio_part(source, None, fmt, mono, rate))


def _moved(item: PreparedMedia, source: Path) -> PreparedMedia:
    """A memory hit whose file is now elsewhere (the stored copy, the original moved): the content part
    reads the new place, and measures it again, instead of the one it was prepared from.
    A picture's part holds its bytes; one prepared from bytes, not a file, has nothing to read."""
    if item.kind == "image" or item.source is None:
        return dataclasses.replace(item, source=source)
    return dataclasses.replace(item, source=source,
                               openai_part=_file_part(item.kind, item.details, source, item.vllm_data))
