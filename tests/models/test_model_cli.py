"""`mimo-desktop model ...` in-process through run(argv), and once through the real entry point."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_hub import FakeHub
from mimo_desktop.models.cli import run
from mimo_desktop.models.gpus import detect_gpus
from model_checkpoints import same_tree

NO_GPU = not detect_gpus()


def test_check_complete_folder(omni_folder: Path, capsys) -> None:
    assert run(["check", str(omni_folder)]) == 0
    out = capsys.readouterr().out
    assert "Architecture: MiMoV2OmniForCausalLM" in out
    assert out.rstrip().endswith("Works: chat, images, video, audio input, MTP speculative decoding.")


def test_check_json(omni_folder: Path, capsys) -> None:
    (omni_folder / "audio_tokenizer" / "config.json").unlink()
    (omni_folder / "audio_tokenizer" / "model.safetensors").unlink()
    (omni_folder / "audio_tokenizer").rmdir()

    assert run(["check", str(omni_folder), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["can_start"] is True
    assert payload["features"] == ["chat", "images", "mtp", "video"]
    assert payload["problems"] == [
        {"message": "The audio_tokenizer/ folder is missing", "disables": ["audio"], "blocks_start": False}
    ]
    assert [s["status"] for s in payload["shards"]] == ["ok", "ok", "ok"]


def test_check_broken_folder_fails(omni_folder: Path, capsys) -> None:
    (omni_folder / "model-00001-of-00003.safetensors").unlink()
    assert run(["check", str(omni_folder)]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM: 1 of 3 weight shards is missing: model-00001-of-00003.safetensors → the model cannot start." in out


def test_check_missing_folder_is_one_clear_line(tmp_path: Path, capsys) -> None:
    assert run(["check", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err == f"mimo-desktop model check: {tmp_path / 'nope'} does not exist.\n"


@pytest.mark.parametrize("argv", [["check"], ["check", "x", "--tp", "0"], ["frobnicate"], [], ["token", "show"]])
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    assert run(argv) == 2
    assert "usage: mimo-desktop model" in capsys.readouterr().err


@pytest.mark.skipif(not NO_GPU, reason="describes a machine without GPUs")
def test_check_with_tp_on_a_machine_without_gpu(omni_folder: Path, capsys) -> None:
    assert run(["check", str(omni_folder), "--tp", "2"]) == 0
    assert "GPU fit: No NVIDIA GPU on this machine" in capsys.readouterr().out

    assert run(["fit", str(omni_folder), "--tp", "2", "--json"]) == 1
    fit = json.loads(capsys.readouterr().out)
    assert fit["gpus_present"] == 0 and fit["tp"] == 2
    assert fit["per_gpu_bytes"]["total"] == sum(fit["per_gpu_bytes"][k] for k in ("weights", "kv_cache", "reserve"))


def test_fit_for_the_whole_context_says_how_much_fits(omni_folder: Path, capsys) -> None:
    assert run(["fit", str(omni_folder), "--tp", "1", "--context", "max", "--json"]) == 1  # no GPU here
    fit = json.loads(capsys.readouterr().out)
    assert fit["context_tokens"] == 4096  # the tiny model's max_position_embeddings
    assert fit["longest_context"] is None  # depends on GPUs, and there are none
    assert "(context up to 4,096 tokens, the model's maximum)" in fit["message"]
    assert run(["fit", str(omni_folder), "--context", "lots"]) == 2


def test_fit_refuses_a_tp_size_the_model_cannot_split(omni_folder: Path, capsys) -> None:
    assert run(["fit", str(omni_folder), "--tp", "3"]) == 1
    assert ("Tensor-parallel size 3 does not work with this model: 3 does not divide the 4 attention heads. "
            "Use one of 1, 2, 4.") in capsys.readouterr().err


def test_token_set_status_clear_never_prints_the_token(memory_keyring, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("hf_abc123\n"))
    assert run(["token", "set"]) == 0
    assert memory_keyring.passwords == {("mimo-desktop", "huggingface"): "hf_abc123"}
    assert run(["token", "status"]) == 0
    assert run(["token", "clear"]) == 0
    assert run(["token", "clear"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["Token saved in the system keyring.", "A Hugging Face token is saved.",
                                "Token removed.", "No token was saved."]
    assert memory_keyring.passwords == {}
    assert "hf_abc123" not in out


def test_download_through_the_entry_point_with_hf_endpoint(_omni_checkpoint: Path, tmp_path: Path) -> None:
    with FakeHub() as hub:
        hub.add_folder("XiaomiMiMo/MiMo-tiny", _omni_checkpoint)
        env = dict(os.environ, HF_ENDPOINT=hub.endpoint, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
        result = subprocess.run(
            [sys.executable, "-m", "mimo_desktop", "model", "download", "XiaomiMiMo/MiMo-tiny", "--to",
             str(tmp_path / "dl")],
            capture_output=True, text=True, env=env, timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert same_tree(_omni_checkpoint, tmp_path / "dl")
    assert "11 files, 3.6 MiB; 3.6 MiB to fetch into" in result.stderr
    assert "100.0%  3.6 MiB of 3.6 MiB  files 11/11" in result.stderr
    assert "Ready: the model can start." in result.stdout


@pytest.mark.timeout(60)
def test_ctrl_c_cancels_the_download_cleanly(_omni_checkpoint: Path, tmp_path: Path) -> None:
    with FakeHub() as hub:
        hub.add_folder("XiaomiMiMo/MiMo-tiny", _omni_checkpoint)
        hub.faults.stall_after["model-00002-of-00003.safetensors"] = 100_000
        env = dict(os.environ, HF_ENDPOINT=hub.endpoint, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
        child = subprocess.Popen(
            [sys.executable, "-m", "mimo_desktop", "model", "download", "XiaomiMiMo/MiMo-tiny", "--to",
             str(tmp_path / "dl"), "--workers", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        assert hub.faults.stalled.wait(30)
        parts = tmp_path / "dl" / ".mimo-download" / "parts"
        deadline = time.monotonic() + 30
        while _part_sizes(parts) != [100_000] and time.monotonic() < deadline:
            time.sleep(0.02)  # until the child has written what the server sent before stalling
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 1
    assert err.splitlines()[-1] == (
        "mimo-desktop model download: Download cancelled. Start it again to resume where it stopped."
    )
    assert _part_sizes(parts) == [100_000]
    assert not (tmp_path / "dl" / "model-00002-of-00003.safetensors").exists()


def _part_sizes(folder: Path) -> list[int]:
    return [p.stat().st_size for p in folder.iterdir()] if folder.is_dir() else []
