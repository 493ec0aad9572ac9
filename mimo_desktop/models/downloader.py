"""Download a model repository from the Hugging Face Hub into a folder the user chose.

    plan = plan_download("XiaomiMiMo/MiMo-V2.5", Path("~/models/MiMo-V2.5"))
    download = ModelDownload(plan, token=read_hub_token())
    download.subscribe(print_progress)          # any callable taking a DownloadProgress
    download.run()                              # blocks; call download.cancel() from another thread

The free-disk check runs before anything is written. Cancel and failures keep what was fetched:
running the same download again resumes every file where it stopped.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

import httpx

from mimo_desktop.models.download_plan import DownloadPlan, LocalState, RemoteFile, hub_endpoint
from mimo_desktop.models.errors import DownloadCancelled, DownloadError, NotEnoughDiskError
from mimo_desktop.models.progress import ProgressListener, ProgressTracker
from mimo_desktop.models.transfer import FileFetch, TransientError
from mimo_desktop.models.units import GIB, format_bytes

# Left free after the download so the system and the engine's caches still have room.
DEFAULT_DISK_RESERVE = 1 * GIB


def disk_free_bytes(folder: Path) -> int:
    """Free bytes on the disk that holds ``folder`` (or its nearest existing parent)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


class ModelDownload:
    """One attempt at fetching a plan. After a cancel or a failure, plan again and make a new one."""

    def __init__(self, plan: DownloadPlan, *, token: str | None = None, endpoint: str | None = None,
                 max_workers: int = 4, retries: int = 3, retry_wait_s: float = 2.0,
                 free_space: Callable[[Path], int] = disk_free_bytes, disk_reserve: int = DEFAULT_DISK_RESERVE,
                 progress_interval_s: float = 0.1, cancel_event: threading.Event | None = None,
                 heartbeat_s: float = 1.0) -> None:
        self.plan = plan
        self._token = token  # kept private and never put in a message or a log
        self._endpoint = hub_endpoint(endpoint)
        self._max_workers = max(1, max_workers)
        self._retries = retries
        self._retry_wait = retry_wait_s
        self._free_space = free_space
        self._disk_reserve = disk_reserve
        self._heartbeat = heartbeat_s
        self._cancel = cancel_event or threading.Event()
        self._sockets: dict[str, socket.socket] = {}  # file path -> socket of its open response
        self._sockets_lock = threading.Lock()
        self._state = LocalState(plan.folder)
        sizes = {f.path: f.size for f in plan.files}
        self.tracker = ProgressTracker(sizes, plan.present, interval_s=progress_interval_s)

    def subscribe(self, listener: ProgressListener) -> Callable[[], None]:
        return self.tracker.subscribe(listener)

    def cancel(self) -> None:
        """Stop within a moment, even a worker blocked on a silent server; safe from any thread."""
        self._cancel.set()
        with self._sockets_lock:
            sockets = list(self._sockets.values())
        for sock in sockets:
            # Closing the response from here would not wake a recv() blocked in another thread on Linux;
            # shutting the socket down does, and the worker then sees the cancel flag.
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def check_disk_space(self) -> None:
        if not self.plan.remaining:
            return  # nothing will be written
        needed = self.plan.bytes_to_fetch + self._disk_reserve
        free = self._free_space(self.plan.folder)
        if free < needed:
            raise NotEnoughDiskError(self.plan.folder, needed, free)

    def run(self) -> Path:
        """Fetch every remaining file; returns the folder. Raises DownloadCancelled or DownloadError."""
        try:
            self.check_disk_space()
            self.tracker.emit("checking", "Starting", force=True)
            self._run_workers()
        except DownloadCancelled as exc:
            self.tracker.emit("cancelled", str(exc), force=True)
            raise
        except DownloadError as exc:
            self.tracker.emit("failed", str(exc), force=True)
            raise
        self.tracker.emit("done", f"{self.plan.repo_id} is complete in {self.plan.folder}", force=True)
        return self.plan.folder

    def _run_workers(self) -> None:
        remaining = self.plan.remaining
        if not remaining:
            return
        self.plan.folder.mkdir(parents=True, exist_ok=True)
        with httpx.Client(follow_redirects=True, timeout=httpx.Timeout(60.0, connect=15.0)) as client:
            with ThreadPoolExecutor(self._max_workers, thread_name_prefix="model-download") as pool:
                futures = [pool.submit(self._fetch_with_retries, client, remote) for remote in remaining]
                done, pending = self._wait_reporting(futures)
                if any(f.exception() for f in done):
                    self._cancel.set()  # one file failed for good: stop the others, keep their parts
                    wait(pending)
        errors = [f.exception() for f in futures if f.exception() is not None]
        real = [e for e in errors if not isinstance(e, DownloadCancelled)]
        if real:
            raise real[0]
        if errors:
            raise errors[0]

    def _wait_reporting(self, futures):
        """Wait for the workers; while no bytes arrive, still tell listeners, so a stalled Hub shows a
        falling speed and no stale "time left" (progress is otherwise sent only when bytes come in)."""
        while True:
            done, pending = wait(futures, timeout=self._heartbeat, return_when=FIRST_EXCEPTION)
            if not pending or any(f.exception() for f in done):
                return done, pending
            self.tracker.emit("downloading", force=True)

    def _fetch_with_retries(self, client: httpx.Client, remote: RemoteFile) -> None:
        if self._cancel.is_set():
            raise DownloadCancelled()
        attempt = 0
        while True:
            self.tracker.file_started(remote.path, self._state.bytes_present(remote))
            try:
                self._fetch(client, remote)
                break
            except TransientError as exc:
                attempt += 1
                if attempt > self._retries:
                    self._cancel.set()  # stop the other workers now, before they pick up another file
                    have = self._state.bytes_present(remote)
                    raise DownloadError(
                        f"Downloading {remote.path} failed: {exc} (tried {attempt} times). Run the download again "
                        f"to resume it from {format_bytes(have)}."
                    ) from exc
                if self._cancel.wait(self._retry_wait * attempt):  # back off, but wake up for a cancel
                    raise DownloadCancelled() from exc
            except DownloadError:
                self._cancel.set()
                raise
            except OSError as exc:  # the disk, not the network: full, removed, no permission
                self._cancel.set()
                raise DownloadError(
                    f"Writing {remote.path} into {self.plan.folder} failed: {exc.strerror or exc}. "
                    "Fix the disk problem and run the download again to resume."
                ) from exc
            finally:
                self.tracker.file_stopped(remote.path)
        self._state.mark_complete(remote)
        self.tracker.file_finished(remote.path)

    def _fetch(self, client: httpx.Client, remote: RemoteFile) -> None:
        from huggingface_hub import hf_hub_url
        from huggingface_hub.utils import build_hf_headers

        url = hf_hub_url(self.plan.repo_id, remote.path, revision=self.plan.commit, endpoint=self._endpoint)
        # token=None lets huggingface_hub fall back to HF_TOKEN or `hf auth login`, as every Hub tool does.
        headers = build_hf_headers(token=self._token, library_name="mimo-desktop")
        FileFetch(
            client, url, headers, remote,
            part=self._state.part_path(remote),
            final=self._state.final_path(remote),
            on_bytes=lambda n: self.tracker.add_bytes(remote.path, n),
            cancel=self._cancel,
            track_response=lambda r: self._track(remote.path, r),
        ).run()

    def _track(self, path: str, response: httpx.Response | None) -> None:
        """Remember the socket under each open response (httpx's "network_stream" extension) for cancel()."""
        stream = response.extensions.get("network_stream") if response is not None else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        with self._sockets_lock:
            if sock is not None:
                self._sockets[path] = sock
            else:
                self._sockets.pop(path, None)


def download_model(repo_id: str, folder: Path, *, revision: str | None = None, token: str | None = None,
                   endpoint: str | None = None, on_progress: ProgressListener | None = None,
                   cancel_event: threading.Event | None = None, **options) -> Path:
    """Plan and run a download in one call (what the CLI uses)."""
    from mimo_desktop.models.download_plan import plan_download

    endpoint = hub_endpoint(endpoint)
    plan = plan_download(repo_id, folder, revision=revision, token=token, endpoint=endpoint,
                         include=options.pop("include", None), exclude=options.pop("exclude", None))
    download = ModelDownload(plan, token=token, endpoint=endpoint, cancel_event=cancel_event, **options)
    if on_progress is not None:
        download.subscribe(on_progress)
    return download.run()

