"""The download dialog against the loopback fake Hub (HF_ENDPOINT): progress, cancel and resume, a disk too
small, gated repositories and the keyring token, and "Use this model" filling the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from model_checkpoints import same_tree

from model_ui_support import REPO, SHARD
from mimo_desktop.models import DownloadProgress, FileProgress
from mimo_desktop.ui.engine.download_dialog import DEFAULT_REPO, DownloadDialog


@pytest.fixture
def make_dialog(qtbot, no_thread_leaks):
    dialogs: list[DownloadDialog] = []

    def make(target: Path, **options) -> DownloadDialog:
        options.setdefault("max_workers", 1)
        dialog = DownloadDialog(folder=str(target), **options)
        qtbot.addWidget(dialog)
        dialog.repo.setText(REPO)
        dialog.show()
        dialogs.append(dialog)
        return dialog

    yield make
    for dialog in dialogs:
        dialog.reject()  # cancels a running download and joins its threads


def wait_done(qtbot, dialog: DownloadDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.running, timeout=20000)


def test_defaults_name_the_mimo_repository(qtbot, memory_keyring):
    dialog = DownloadDialog()
    qtbot.addWidget(dialog)
    assert dialog.repo.text() == DEFAULT_REPO == "XiaomiMiMo/MiMo-V2.5"
    assert dialog.folder.text().endswith("models/MiMo-V2.5") and dialog.revision.text() == "main"
    assert "No token saved" in dialog.token_state.text()
    memory_keyring.set_password("mimo-desktop", "huggingface", "hf_saved")
    again = DownloadDialog()
    qtbot.addWidget(again)
    assert "A token is saved in the system keyring" in again.token_state.text()
    assert again.token.text() == ""  # the saved token is never put on screen
    again.forget_token.click()
    assert memory_keyring.passwords == {} and "No token saved" in again.token_state.text()
    assert again.forget_token.isHidden()


def test_download_completes_with_every_file_shown_done(qtbot, make_dialog, hub, _tiny_checkpoint, tmp_path):
    target = tmp_path / "dl"
    dialog = make_dialog(target, max_workers=3)

    dialog.start_button.click()
    wait_done(qtbot, dialog)

    assert same_tree(_tiny_checkpoint, target)
    assert "is complete in" in dialog.status.text() and dialog.use_button.isVisible()
    assert dialog.total.value() == 1000 and dialog.total.text() == "100.0%"
    items = [dialog.files.topLevelItem(i) for i in range(dialog.files.topLevelItemCount())]
    assert len(items) == 11 and {item.text(2) for item in items} == {"done"}
    assert "files 11/11" in dialog.speed.text()
    assert "Free on that disk" in dialog.disk.text() and "Not enough" not in dialog.disk.text()


def test_cancel_mid_file_then_resume_where_it_stopped(qtbot, make_dialog, hub, _tiny_checkpoint, tmp_path):
    target = tmp_path / "dl"
    hub.faults.stall_after[SHARD] = 50_000  # the Hub goes silent mid-shard: the download is visibly under way
    dialog = make_dialog(target)
    dialog.start_button.click()
    assert hub.faults.stalled.wait(15)
    qtbot.waitUntil(lambda: SHARD in dialog._file_items and "%" in dialog._file_items[SHARD].text(2), timeout=15000)
    item = dialog._file_items[SHARD]
    assert "Downloading" in dialog.status.text()
    assert " of " in dialog.speed.text() and "files " in dialog.speed.text()
    assert 0 < dialog.total.value() < 1000

    dialog.cancel_button.click()
    wait_done(qtbot, dialog)

    assert "Cancelled. The files fetched so far are kept: press Resume" in dialog.status.text()
    assert dialog.start_button.text() == "Resume" and dialog.start_button.isEnabled()
    assert item.text(2).endswith(", stopped") and not (target / SHARD).exists()

    dialog.start_button.click()
    wait_done(qtbot, dialog)

    assert hub.file_gets(SHARD)[-1].range == "bytes=50000-"
    assert same_tree(_tiny_checkpoint, target) and dialog.use_button.isVisible()


def test_a_silent_hub_is_said_instead_of_a_stale_speed(qtbot, make_dialog, hub, tmp_path, monkeypatch):
    from mimo_desktop.ui.engine import download_dialog

    monkeypatch.setattr(download_dialog, "STALL_NOTICE_S", 0.5)
    hub.faults.stall_after[SHARD] = 50_000
    dialog = make_dialog(tmp_path / "dl")
    dialog.start_button.click()
    assert hub.faults.stalled.wait(15)
    # the downloader reports once a second even with no bytes, so the line changes by itself
    qtbot.waitUntil(lambda: "waiting for the Hub" in dialog.speed.text(), timeout=10000)
    assert "left" not in dialog.speed.text()
    dialog.cancel_button.click()
    wait_done(qtbot, dialog)


def test_a_disk_too_small_is_said_before_anything_is_written(qtbot, make_dialog, hub, tmp_path):
    target = tmp_path / "dl"
    dialog = make_dialog(target, free_space=lambda folder: 2_000_000)

    dialog.check_button.click()
    wait_done(qtbot, dialog)

    assert "Free on that disk: 1.9 MiB. Not enough space." in dialog.disk.text()
    assert "Not enough disk space in" in dialog.status.text() and "but only 1.9 MiB is free" in dialog.status.text()
    dialog.start_button.click()
    wait_done(qtbot, dialog)
    assert "Not enough disk space" in dialog.status.text()
    assert not target.exists() and hub.file_gets(SHARD) == []


def test_check_size_shows_the_plan_without_downloading(qtbot, make_dialog, hub, tmp_path):
    dialog = make_dialog(tmp_path / "dl")
    dialog.check_button.click()
    wait_done(qtbot, dialog)
    assert dialog.disk.text().startswith("11 files, 3.6 MiB; 3.6 MiB to fetch. Free on that disk:")
    assert "Ready to download" in dialog.status.text()
    assert dialog.files.topLevelItemCount() == 11 and hub.file_gets(SHARD) == []


def test_gated_repository_asks_for_a_token_kept_in_the_keyring(qtbot, make_dialog, hub, _tiny_checkpoint,
                                                                tmp_path, memory_keyring):
    hub.add_folder("XiaomiMiMo/gated", _tiny_checkpoint, gated_token="hf_secret_123")
    dialog = make_dialog(tmp_path / "dl")
    dialog.repo.setText("XiaomiMiMo/gated")

    dialog.start_button.click()
    wait_done(qtbot, dialog)
    assert "gated or private; save a Hugging Face token that can read it in the Hub token field above" in \
        dialog.status.text()

    dialog.token.setText("hf_secret_123")
    dialog.start_button.click()
    wait_done(qtbot, dialog)

    assert memory_keyring.passwords == {("mimo-desktop", "huggingface"): "hf_secret_123"}
    assert dialog.token.text() == "" and "A token is saved" in dialog.token_state.text()
    assert same_tree(_tiny_checkpoint, tmp_path / "dl")
    assert hub.file_gets(SHARD)[-1].authorization == "Bearer hf_secret_123"


def test_unreachable_hub_and_unknown_repository_are_plain_errors(qtbot, make_dialog, hub, tmp_path, monkeypatch):
    dialog = make_dialog(tmp_path / "dl")
    dialog.repo.setText("XiaomiMiMo/nope")
    dialog.start_button.click()
    wait_done(qtbot, dialog)
    assert "XiaomiMiMo/nope was not found on http://127.0.0.1" in dialog.status.text()

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    dialog.repo.setText(REPO)
    dialog.start_button.click()
    wait_done(qtbot, dialog)
    assert "Cannot reach http://127.0.0.1:9" in dialog.status.text() and "Check the network" in dialog.status.text()


def test_progress_bursts_are_coalesced_into_one_repaint(qtbot, make_dialog, tmp_path):
    dialog = make_dialog(tmp_path / "dl")
    total = 100 * 1000
    for step in range(1, 101):  # a burst, as the queued signals deliver it in one turn of the event loop
        dialog._on_progress(DownloadProgress("downloading", step * 1000, total, 0, 1, 5e6,
                                             (FileProgress("x.bin", step * 1000, total, "downloading"),)))
    assert dialog.repaints == 0
    qtbot.waitUntil(lambda: dialog.repaints == 1, timeout=5000)
    qtbot.wait(300)
    assert dialog.repaints == 1 and dialog.total.value() == 1000  # the newest value, drawn once


def test_use_this_model_fills_the_settings_folder(qtbot, make_settings, hub, _tiny_checkpoint, tmp_path, no_gpus):
    settings = make_settings({"kind": "none"})
    settings.model_check.download_button.click()
    dialog = settings.download_dialog
    target = tmp_path / "from-hub"
    dialog.repo.setText(REPO)
    dialog.folder.setText(str(target))
    dialog.start_button.click()
    wait_done(qtbot, dialog)

    dialog.use_button.click()

    assert settings.kind.currentData() == "vllm" and settings.model_dir.text() == str(target)
    qtbot.waitUntil(lambda: "Ready: the model can start" in settings.model_check.report.text(), timeout=15000)
    assert settings.save_button.isEnabled()
    assert settings.values().engine["vllm"]["model_dir"] == str(target)


def test_first_run_panel_downloads_and_opens_settings_with_the_folder(qtbot, window, hub, tmp_path, no_gpus):
    panel = window.first_run
    assert panel.isVisible() and panel.download_button.isVisible()
    panel.download_button.click()
    dialog = panel.download_dialog
    target = tmp_path / "first-run"
    dialog.repo.setText(REPO)
    dialog.folder.setText(str(target))
    dialog.start_button.click()
    wait_done(qtbot, dialog)

    dialog.use_button.click()

    settings = window.controller.engine.settings_dialog
    assert settings.isVisible() and settings.model_dir.text() == str(target)
    qtbot.waitUntil(lambda: "Ready: the model can start" in settings.model_check.report.text(), timeout=15000)
    assert settings.values().engine["kind"] == "vllm" and settings.save_button.isEnabled()
    settings.reject()  # saving would start vLLM on the tiny model: not what this test is about


def test_a_refusing_keyring_still_lets_the_typed_token_download(qtbot, make_dialog, hub, _tiny_checkpoint, tmp_path,
                                                                memory_keyring, monkeypatch):
    from keyring.errors import KeyringLocked

    def locked(*args):
        raise KeyringLocked("locked")

    monkeypatch.setattr(memory_keyring, "set_password", locked)
    hub.add_folder("XiaomiMiMo/gated", _tiny_checkpoint, gated_token="hf_secret_123")
    dialog = make_dialog(tmp_path / "dl")
    dialog.repo.setText("XiaomiMiMo/gated")
    dialog.token.setText("hf_secret_123")

    dialog.start_button.click()
    wait_done(qtbot, dialog)

    assert "could not be saved in the system keyring (KeyringLocked)" in dialog.token_state.text()
    assert "used for this download only" in dialog.token_state.text()
    assert same_tree(_tiny_checkpoint, tmp_path / "dl") and memory_keyring.passwords == {}
