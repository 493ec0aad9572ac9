"""The model-folder check in the settings dialog, on real tiny checkpoints the tests build and damage."""

from __future__ import annotations

import shutil
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog

from model_ui_support import SHARD
from mimo_desktop.models import GpuSurvey, folder_check
from mimo_desktop.ui.engine import model_check


def wait_report(qtbot, dialog) -> str:
    panel = dialog.model_check
    qtbot.waitUntil(lambda: not panel.checking and panel.result is not None
                    and panel.result.folder == dialog.model_dir.text(), timeout=15000)
    return panel.report.text()


def test_a_good_checkpoint_is_ready_and_the_machine_without_gpus_is_named(qtbot, make_settings, tiny_folder,
                                                                          no_gpus):
    dialog = make_settings({"kind": "vllm", "vllm": {"model_dir": str(tiny_folder)}})

    text = wait_report(qtbot, dialog)

    assert "MiMo-V2 Omni (text, images, video, audio)" in text
    assert "Weights: 3 of 3 shards complete" in text
    assert "Ready: the model can start. Works: chat, images, video, audio input, MTP speculative decoding." in text
    assert "No NVIDIA GPU on this machine" in text and "needs at least 1 × 80 GiB GPUs" in text
    assert dialog.save_button.isEnabled() and not dialog.save_blocked.isVisible()


def test_a_broken_checkpoint_blocks_save_with_the_reason(qtbot, make_settings, tiny_folder, no_gpus):
    (tiny_folder / SHARD).unlink()
    shutil.rmtree(tiny_folder / "audio_tokenizer")
    dialog = make_settings({"kind": "vllm", "vllm": {"model_dir": str(tiny_folder)}})

    text = wait_report(qtbot, dialog)

    assert f"1 of 3 weight shards is missing: {SHARD} → the model cannot start." in text
    assert "The audio_tokenizer/ folder is missing → no audio input." in text
    assert "Not ready: the model cannot start" in text
    assert not dialog.save_button.isEnabled()
    assert dialog.save_blocked.isVisible() and SHARD in dialog.save_blocked.text()
    dialog.accept()  # what Enter or a stray click would do
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    dialog.kind.setCurrentIndex(dialog.kind.findData("remote"))  # the folder no longer matters
    assert dialog.save_button.isEnabled() and not dialog.save_blocked.isVisible()


def test_missing_audio_tokenizer_or_truncated_shard(qtbot, make_settings, tiny_folder, no_gpus):
    shutil.rmtree(tiny_folder / "audio_tokenizer")
    dialog = make_settings({"kind": "vllm", "vllm": {"model_dir": str(tiny_folder)}})
    text = wait_report(qtbot, dialog)
    assert "no audio input" in text and "Works: chat, images, video, MTP speculative decoding." in text
    assert dialog.save_button.isEnabled()  # no audio is a loss, not a reason to refuse

    shard = tiny_folder / SHARD
    shard.write_bytes(shard.read_bytes()[:-1000])
    dialog.model_check.check_button.click()
    text = wait_report(qtbot, dialog)
    assert f"cut short (incomplete download or copy): {SHARD}" in text
    assert not dialog.save_button.isEnabled()


def test_fit_follows_the_chosen_tensor_parallel_size(qtbot, make_settings, tiny_folder, one_h100):
    dialog = make_settings({"kind": "vllm", "vllm": {"model_dir": str(tiny_folder), "tensor_parallel": 2}})
    text = wait_report(qtbot, dialog)
    assert "TP 2 needs 2 GPUs but this machine has 1" in text
    assert "needs at least 1 × NVIDIA H100 80GB HBM3 (80.0 GiB each)" in text

    dialog.tensor_parallel.setValue(1)
    qtbot.waitUntil(lambda: "Fits on 1 × NVIDIA H100" in dialog.model_check.report.text(), timeout=15000)


def test_picking_a_folder_checks_it_off_the_gui_thread(qtbot, make_settings, tiny_folder, no_gpus, monkeypatch):
    threads: list[str] = []
    real_check = folder_check.check_model_folder

    def recording_check(path):
        threads.append(threading.current_thread().name)
        return real_check(path)

    monkeypatch.setattr("mimo_desktop.models.check_model_folder", recording_check)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tiny_folder))
    dialog = make_settings({"kind": "vllm"})
    assert not dialog.model_check.report.isVisible()  # no folder yet: nothing to check

    qtbot.mouseClick(dialog.findChild(type(dialog.model_check.check_button), "browseModelDir"),
                     Qt.MouseButton.LeftButton)

    assert "Ready: the model can start" in wait_report(qtbot, dialog)
    assert dialog.model_dir.text() == str(tiny_folder)
    assert threads and all(name.startswith("model-check") for name in threads)


@pytest.mark.parametrize("make_path, words", [
    (lambda tmp: tmp / "nowhere", "does not exist"),
    (lambda tmp: (tmp / "config.json").write_text("{}") and tmp / "config.json", "is a file; choose the folder"),
])
def test_a_path_that_is_not_a_model_folder_blocks_save(qtbot, make_settings, tmp_path, no_gpus, make_path, words):
    dialog = make_settings({"kind": "vllm"})
    dialog.model_dir.setText(str(make_path(tmp_path)))
    dialog.model_dir.editingFinished.emit()

    assert words in wait_report(qtbot, dialog)
    assert not dialog.save_button.isEnabled() and words in dialog.save_blocked.text()
    dialog.model_dir.setText("")
    dialog.model_dir.editingFinished.emit()
    assert dialog.save_button.isEnabled() and not dialog.model_check.report.isVisible()



def test_save_right_after_typing_a_broken_folder_waits_for_its_check(qtbot, make_settings, tiny_folder, no_gpus):
    (tiny_folder / SHARD).unlink()
    dialog = make_settings({"kind": "vllm"})
    dialog.model_dir.setText(str(tiny_folder))
    dialog.accept()  # before any check of that folder has run

    assert dialog.isVisible()
    qtbot.waitUntil(dialog.save_blocked.isVisible, timeout=15000)
    assert SHARD in dialog.save_blocked.text()
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted


def test_save_right_after_typing_a_good_folder_saves_once_checked(qtbot, make_settings, _tiny_checkpoint, no_gpus):
    dialog = make_settings({"kind": "vllm"})
    dialog.model_dir.setText(str(_tiny_checkpoint))
    dialog.accept()
    assert dialog.isVisible()  # still checking

    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=15000)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.values().engine["vllm"]["model_dir"] == str(_tiny_checkpoint)


def test_the_folder_report_shows_while_the_gpu_survey_is_still_running(qtbot, make_settings, tiny_folder,
                                                                        monkeypatch):
    surveyed = threading.Event()

    def slow_survey():  # the first survey may import torch: seconds
        surveyed.wait(15)
        return GpuSurvey((), "none", "no NVIDIA GPU or driver was found")

    monkeypatch.setattr(model_check, "_detect_gpus", slow_survey)
    dialog = make_settings({"kind": "vllm", "vllm": {"model_dir": str(tiny_folder)}})
    panel = dialog.model_check

    qtbot.waitUntil(lambda: "Ready: the model can start" in panel.report.text(), timeout=15000)
    assert panel.checking and model_check.ESTIMATING in panel.report.text()
    assert dialog.save_button.isEnabled()
    surveyed.set()
    assert "No NVIDIA GPU on this machine" in wait_report(qtbot, dialog)
    assert model_check.ESTIMATING not in panel.report.text()
