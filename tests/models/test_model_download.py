"""Downloads against a real loopback HTTP server standing in for the Hugging Face Hub."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from fake_hub import FakeHub
from memory_keyring import MemoryKeyring
from model_checkpoints import same_tree
from mimo_desktop.models.download_plan import STATE_DIR, LocalState, plan_download
from mimo_desktop.models.downloader import ModelDownload, download_model
from mimo_desktop.models.errors import DownloadCancelled, DownloadError, NotEnoughDiskError, RepoAccessError
from mimo_desktop.models.folder_check import check_model_folder
from mimo_desktop.models.hub_token import read_hub_token, save_hub_token
from mimo_desktop.models.progress import DownloadProgress

REPO = "XiaomiMiMo/MiMo-tiny"
SHARD = "model-00002-of-00003.safetensors"


@pytest.fixture
def hub(_omni_checkpoint: Path):
    with FakeHub() as hub:
        hub.add_folder(REPO, _omni_checkpoint)
        yield hub


def run(hub: FakeHub, target: Path, **options) -> tuple[ModelDownload, list[DownloadProgress]]:
    plan = plan_download(REPO, target, endpoint=hub.endpoint)
    options.setdefault("max_workers", 1)
    options.setdefault("retries", 0)
    download = ModelDownload(plan, endpoint=hub.endpoint, progress_interval_s=0, **options)
    events: list[DownloadProgress] = []
    download.subscribe(events.append)
    return download, events


def test_full_download_gives_a_ready_model_and_progress(hub: FakeHub, _omni_checkpoint: Path, tmp_path: Path) -> None:
    target = tmp_path / "model"
    download, events = run(hub, target, max_workers=3)

    assert download.run() == target

    assert same_tree(_omni_checkpoint, target)
    assert check_model_folder(target).can_start
    assert events[0].state == "checking" and events[-1].state == "done"
    total = sum(p.stat().st_size for p in _omni_checkpoint.rglob("*") if p.is_file())
    assert (events[-1].done_bytes, events[-1].total_bytes) == (total, total)
    assert events[-1].files_done == events[-1].files_total == 11
    shard_size = (_omni_checkpoint / SHARD).stat().st_size
    assert any(f.path == SHARD and 0 < f.done < f.total == shard_size for e in events for f in e.active)
    assert all(a.done_bytes <= b.done_bytes for a, b in zip(events, events[1:]))


def test_second_run_fetches_nothing(hub: FakeHub, tmp_path: Path) -> None:
    target = tmp_path / "model"
    run(hub, target)[0].run()
    gets_before = len(hub.file_gets(SHARD))

    plan = plan_download(REPO, target, endpoint=hub.endpoint)
    ModelDownload(plan, endpoint=hub.endpoint).run()

    assert plan.bytes_to_fetch == 0 and plan.remaining == ()
    assert len(hub.file_gets(SHARD)) == gets_before


def test_connection_cut_mid_file_resumes_on_the_next_attempt(hub: FakeHub, _omni_checkpoint: Path,
                                                             tmp_path: Path) -> None:
    target = tmp_path / "model"
    hub.faults.cut_after[SHARD] = 700_000
    first, events = run(hub, target)

    with pytest.raises(DownloadError, match=f"Downloading {SHARD} failed: the connection broke .*Run the download "
                                            "again to resume it from 683.6 KiB"):
        first.run()
    assert events[-1].state == "failed"
    assert not (target / SHARD).exists()

    plan = plan_download(REPO, target, endpoint=hub.endpoint)
    assert plan.present[SHARD] == 700_000
    ModelDownload(plan, endpoint=hub.endpoint).run()

    assert [r.range for r in hub.file_gets(SHARD)] == [None, "bytes=700000-"]
    assert same_tree(_omni_checkpoint, target)
    assert not any((target / STATE_DIR / "parts").iterdir())


def test_connection_cut_is_retried_within_one_run(hub: FakeHub, _omni_checkpoint: Path, tmp_path: Path) -> None:
    hub.faults.cut_after[SHARD] = 300_000
    hub.faults.down_after_cut = 1  # the first retry meets a 503 too
    download, _ = run(hub, tmp_path / "model", retries=3, retry_wait_s=0)

    download.run()

    assert [r.range for r in hub.file_gets(SHARD)] == [None, "bytes=300000-", "bytes=300000-"]
    assert same_tree(_omni_checkpoint, tmp_path / "model")


def test_server_that_ignores_range_restarts_the_file_cleanly(hub: FakeHub, _omni_checkpoint: Path,
                                                             tmp_path: Path) -> None:
    hub.faults.cut_after[SHARD] = 400_000
    hub.faults.ignore_range = True
    download, events = run(hub, tmp_path / "model", retries=1, retry_wait_s=0)

    download.run()

    assert [r.range for r in hub.file_gets(SHARD)] == [None, "bytes=400000-"]
    assert same_tree(_omni_checkpoint, tmp_path / "model")
    assert events[-1].done_bytes == events[-1].total_bytes  # the 400 kB counted twice were taken back


def test_second_run_with_a_full_disk_is_fine_when_nothing_is_left(hub: FakeHub, tmp_path: Path) -> None:
    run(hub, tmp_path / "model")[0].run()
    plan = plan_download(REPO, tmp_path / "model", endpoint=hub.endpoint)

    assert ModelDownload(plan, endpoint=hub.endpoint, free_space=lambda folder: 0).run() == tmp_path / "model"


def test_cancel_keeps_the_partial_file_and_the_next_run_resumes(hub: FakeHub, _omni_checkpoint: Path,
                                                                tmp_path: Path) -> None:
    target = tmp_path / "model"
    download, events = run(hub, target)

    def cancel_mid_shard(progress: DownloadProgress) -> None:
        if any(f.path == SHARD and f.done > 0 for f in progress.active):
            download.cancel()

    download.subscribe(cancel_mid_shard)
    with pytest.raises(DownloadCancelled, match="Start it again to resume"):
        download.run()

    assert events[-1].state == "cancelled"
    plan = plan_download(REPO, target, endpoint=hub.endpoint)
    resumed_from = plan.present[SHARD]
    assert 0 < resumed_from < (_omni_checkpoint / SHARD).stat().st_size
    ModelDownload(plan, endpoint=hub.endpoint).run()
    assert hub.file_gets(SHARD)[-1].range == f"bytes={resumed_from}-"
    assert same_tree(_omni_checkpoint, target)


@pytest.mark.timeout(30)
def test_cancel_unblocks_a_stalled_connection(hub: FakeHub, tmp_path: Path) -> None:
    hub.faults.stall_after[SHARD] = 50_000
    download, _ = run(hub, tmp_path / "model")
    outcome: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(download.run, outcome))
    worker.start()

    assert hub.faults.stalled.wait(10)
    part = LocalState(tmp_path / "model").part_path(next(f for f in download.plan.files if f.path == SHARD))
    while not (part.is_file() and part.stat().st_size == 50_000):
        time.sleep(0.01)  # the worker has read all the server sent and now blocks in recv()
    download.cancel()
    worker.join(10)

    assert not worker.is_alive()
    assert isinstance(outcome[0], DownloadCancelled)


@pytest.mark.timeout(30)
def test_a_stalled_hub_still_reports_progress_and_the_speed_falls(hub: FakeHub, tmp_path: Path) -> None:
    hub.faults.stall_after[SHARD] = 50_000
    plan = plan_download(REPO, tmp_path / "model", endpoint=hub.endpoint)
    download = ModelDownload(plan, endpoint=hub.endpoint, max_workers=1, heartbeat_s=0.05)
    seen: list = []
    download.subscribe(seen.append)
    outcome: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(download.run, outcome))
    worker.start()
    assert hub.faults.stalled.wait(10)
    part = LocalState(tmp_path / "model").part_path(next(f for f in plan.files if f.path == SHARD))
    while not (part.is_file() and part.stat().st_size == 50_000):
        time.sleep(0.01)  # the worker has read all the server sent and now blocks in recv()
    time.sleep(0.1)  # let the snapshot of those last bytes go out
    during = len(seen)
    time.sleep(0.5)  # nothing arrives now: only the heartbeat can speak
    stalled = seen[during:]
    download.cancel()
    worker.join(10)
    assert len(stalled) >= 4, "no progress reported while the Hub was silent"
    assert all(p.state == "downloading" for p in stalled)
    assert len({p.done_bytes for p in stalled}) == 1  # no bytes, the same figure...
    assert stalled[-1].bytes_per_second < stalled[0].bytes_per_second  # ...and the speed going down


def _capture(fn, outcome: list[BaseException]) -> None:
    try:
        fn()
    except BaseException as exc:  # handed to the test thread
        outcome.append(exc)


def test_too_small_disk_is_refused_before_writing_anything(hub: FakeHub, tmp_path: Path) -> None:
    target = tmp_path / "model"
    download, _ = run(hub, target, free_space=lambda folder: 2_000_000, disk_reserve=0)

    with pytest.raises(NotEnoughDiskError, match=r"the download needs 3\.\d MiB more but only 1\.9 MiB is free"):
        download.run()

    assert not target.exists()
    assert hub.file_gets(SHARD) == []


def test_disk_check_counts_only_what_is_left(hub: FakeHub, tmp_path: Path) -> None:
    target = tmp_path / "model"
    hub.faults.cut_after[SHARD] = 700_000
    with pytest.raises(DownloadError):
        run(hub, target)[0].run()
    parts = sum(p.stat().st_size for p in (target / STATE_DIR / "parts").iterdir())
    plan = plan_download(REPO, target, endpoint=hub.endpoint)
    asked: list[Path] = []

    def exactly_enough(folder: Path) -> int:
        asked.append(folder)
        return plan.bytes_to_fetch + 10

    ModelDownload(plan, endpoint=hub.endpoint, free_space=exactly_enough, disk_reserve=10).run()

    assert asked == [target]
    assert parts == 700_000  # the failure stopped the other files before they started
    assert plan.bytes_to_fetch == plan.total_bytes - sum(
        f.size for f in plan.files if f.path in plan.complete) - parts


def test_damaged_transfer_is_caught_by_the_checksum(hub: FakeHub, tmp_path: Path) -> None:
    target = tmp_path / "model"
    plan = plan_download(REPO, target, endpoint=hub.endpoint)
    data = bytearray(hub.repos[REPO].files[SHARD])
    data[-1] ^= 0xFF  # same length, different content than the tree listing promised
    hub.repos[REPO].files[SHARD] = bytes(data)

    with pytest.raises(DownloadError, match=f"{SHARD} arrived damaged"):
        ModelDownload(plan, endpoint=hub.endpoint, max_workers=1).run()

    assert not (target / SHARD).exists()
    assert not LocalState(target).part_path(next(f for f in plan.files if f.path == SHARD)).exists()


def test_gated_repo_needs_the_keyring_token(hub: FakeHub, _omni_checkpoint: Path, tmp_path: Path,
                                            memory_keyring: MemoryKeyring, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    hub.add_folder("XiaomiMiMo/gated", _omni_checkpoint, gated_token="hf_secret_123")
    messages: list[str] = []

    with pytest.raises(DownloadError, match="refused .* gated or private; save a Hugging Face token") as refused:
        download_model("XiaomiMiMo/gated", tmp_path / "a", endpoint=hub.endpoint, token=read_hub_token(),
                       on_progress=lambda p: messages.append(p.message))

    save_hub_token("  hf_secret_123\n")
    assert memory_keyring.passwords == {("mimo-desktop", "huggingface"): "hf_secret_123"}
    download_model("XiaomiMiMo/gated", tmp_path / "b", endpoint=hub.endpoint, token=read_hub_token(),
                   on_progress=lambda p: messages.append(p.message))

    assert same_tree(_omni_checkpoint, tmp_path / "b")
    assert hub.file_gets(SHARD)[-1].authorization == "Bearer hf_secret_123"
    assert all("hf_secret" not in m for m in messages + [str(refused.value)])


def test_unknown_repo_and_revision_say_what_is_wrong(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(RepoAccessError, match="XiaomiMiMo/nope was not found on http://127.0.0.1"):
        plan_download("XiaomiMiMo/nope", tmp_path, endpoint=hub.endpoint)
    with pytest.raises(RepoAccessError, match="has no branch, tag or commit named 'v9'"):
        plan_download(REPO, tmp_path, endpoint=hub.endpoint, revision="v9")


def test_unreachable_hub_is_a_plain_error(tmp_path: Path) -> None:
    with FakeHub() as gone:
        endpoint = gone.endpoint
    with pytest.raises(DownloadError, match="Cannot reach http://127.0.0.1"):
        plan_download(REPO, tmp_path, endpoint=endpoint)


def test_include_and_exclude_patterns(hub: FakeHub, tmp_path: Path) -> None:
    plan = plan_download(REPO, tmp_path, endpoint=hub.endpoint, include=["*.json"], exclude=["audio_tokenizer/*"])
    assert [f.path for f in plan.files] == [
        "config.json", "generation_config.json", "model.safetensors.index.json", "tokenizer.json",
        "tokenizer_config.json",
    ]


def test_unwritable_folder_is_a_plain_error(hub: FakeHub, tmp_path: Path) -> None:
    target = tmp_path / "model"
    plan = plan_download(REPO, target, endpoint=hub.endpoint)
    target.mkdir()
    (target / "config.json").mkdir()  # a folder where a file must go: the move into place fails

    with pytest.raises(DownloadError, match="Writing config.json into .* failed: .*run the download again"):
        ModelDownload(plan, endpoint=hub.endpoint, max_workers=1).run()
