"""What a download must fetch: the repository's files at one commit, minus what the folder already has.

State kept in ``<folder>/.mimo-download/``: ``manifest.json`` names each completed file with the
blob id it was fetched at, and ``parts/`` holds partial files named by blob id, so an interrupted
download resumes byte-exact on the next attempt, and a changed file on the Hub is never glued onto
an old partial one.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from mimo_desktop.models.errors import DownloadError, RepoAccessError

STATE_DIR = ".mimo-download"


@dataclass(frozen=True)
class RemoteFile:
    path: str  # inside the repository, "/"-separated
    size: int
    blob_id: str  # git blob sha1 (what the Hub's ETag is for small files)
    sha256: str | None  # LFS files: the content hash; None for small files kept in git

    @property
    def version(self) -> str:
        return self.sha256 or self.blob_id


@dataclass(frozen=True)
class DownloadPlan:
    repo_id: str
    revision: str
    commit: str
    folder: Path
    files: tuple[RemoteFile, ...]
    present: dict[str, int]  # bytes already on disk per path (complete files or partial ones)
    complete: frozenset[str]  # paths finished at this revision: nothing to do for them

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def bytes_to_fetch(self) -> int:
        return sum(f.size - min(self.present.get(f.path, 0), f.size) for f in self.remaining)

    @property
    def remaining(self) -> tuple[RemoteFile, ...]:
        return tuple(f for f in self.files if f.path not in self.complete)


class LocalState:
    """The folder's record of finished and partial files. Safe to use from several worker threads."""

    _lock = threading.Lock()  # one per process is enough: writes are rare (once per finished file)

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.state_dir = folder / STATE_DIR
        self.manifest_path = self.state_dir / "manifest.json"

    def part_path(self, remote: RemoteFile) -> Path:
        return self.state_dir / "parts" / f"{quote(remote.path, safe='')}.{remote.version[:24]}.part"

    def final_path(self, remote: RemoteFile) -> Path:
        target = (self.folder / remote.path).resolve()
        if not target.is_relative_to(self.folder.resolve()):
            raise DownloadError(f"The repository names a file outside the target folder ({remote.path}); refusing it.")
        return target

    def is_complete(self, remote: RemoteFile) -> bool:
        entry = self._read().get(remote.path)
        final = self.folder / remote.path
        return (
            entry is not None and entry.get("version") == remote.version and final.is_file()
            and final.stat().st_size == remote.size
        )

    def bytes_present(self, remote: RemoteFile) -> int:
        """Bytes of a partial file fetched by an earlier attempt."""
        part = self.part_path(remote)
        return min(part.stat().st_size, remote.size) if part.is_file() else 0

    def mark_complete(self, remote: RemoteFile) -> None:
        with self._lock:
            files = self._read()
            files[remote.path] = {"version": remote.version, "size": remote.size}
            self.state_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.manifest_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"files": files}, indent=1, sort_keys=True))
            os.replace(tmp, self.manifest_path)  # atomic: a crash leaves the old or the new manifest

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        files = data.get("files") if isinstance(data, dict) else None
        return files if isinstance(files, dict) else {}


def hub_endpoint(endpoint: str | None = None) -> str:
    """The Hub to talk to: the argument, else HF_ENDPOINT as it is now (huggingface_hub reads it only at import)."""
    from huggingface_hub import constants

    return (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def plan_download(repo_id: str, folder: Path, *, revision: str | None = None, token: str | None = None,
                  endpoint: str | None = None, include: list[str] | None = None,
                  exclude: list[str] | None = None) -> DownloadPlan:
    """Ask the Hub for the repository's files at ``revision`` and compare them with ``folder``."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile
    from huggingface_hub.utils import filter_repo_objects

    revision = revision or "main"
    api = HfApi(endpoint=hub_endpoint(endpoint), token=token)
    with _hub_errors(repo_id, revision, api.endpoint):
        info = api.model_info(repo_id, revision=revision)
        commit = info.sha
        if not commit:
            raise DownloadError(f"{api.endpoint} did not say which commit {repo_id}@{revision} is.")
        entries = [e for e in api.list_repo_tree(repo_id, recursive=True, revision=commit) if isinstance(e, RepoFile)]
    wanted = set(filter_repo_objects([e.path for e in entries], allow_patterns=include, ignore_patterns=exclude))
    files = tuple(
        RemoteFile(e.path, int(e.size), e.blob_id, e.lfs.sha256 if e.lfs else None)
        for e in sorted(entries, key=lambda e: e.path)
        if e.path in wanted
    )
    if not files:
        raise DownloadError(f"{repo_id}@{revision} has no files to download" + (" matching the filters." if include or exclude else "."))
    state = LocalState(folder)
    complete = frozenset(f.path for f in files if state.is_complete(f))
    present = {f.path: f.size if f.path in complete else state.bytes_present(f) for f in files}
    return DownloadPlan(repo_id, revision, commit, folder, files, present, complete)


@contextmanager
def _hub_errors(repo: str, revision: str, endpoint: str) -> Iterator[None]:
    """Turn huggingface_hub's errors into messages that say what to do."""
    from huggingface_hub.errors import (
        GatedRepoError, HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError, RevisionNotFoundError,
    )

    try:
        yield
    except GatedRepoError as exc:
        raise RepoAccessError(
            f"{repo} is gated: accept its terms on its Hub page, then save your Hugging Face token "
            "(mimo-desktop model token set) and try again."
        ) from exc
    except RevisionNotFoundError as exc:
        raise RepoAccessError(f"{repo} has no branch, tag or commit named {revision!r}.") from exc
    except RepositoryNotFoundError as exc:
        raise RepoAccessError(
            f"{repo} was not found on {endpoint}. Check the name; if the repository is private, "
            "save a Hugging Face token that can read it (mimo-desktop model token set)."
        ) from exc
    except OfflineModeIsEnabled as exc:
        raise DownloadError("Hugging Face offline mode is on (HF_HUB_OFFLINE); turn it off to download.") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise DownloadError(f"{endpoint} answered HTTP {status} for {repo}; try again later.") from exc
    except Exception as exc:
        # huggingface_hub 2.x talks through httpx2, 1.x through httpx: match the transport errors by package.
        if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2"):
            raise DownloadError(f"Cannot reach {endpoint} ({type(exc).__name__}: {exc}). Check the network.") from exc
        raise
