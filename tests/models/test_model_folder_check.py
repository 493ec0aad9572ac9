"""check_model_folder on real checkpoint folders built by the tests, then damaged the way downloads fail."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from mimo_desktop.models.errors import ModelFolderError, ShardHeaderError
from mimo_desktop.models.folder_check import check_model_folder
from mimo_desktop.models.report import Feature
from mimo_desktop.models.safetensors_header import read_shard_header
from model_checkpoints import build_checkpoint, tensors_for, write_shards


def shard(folder: Path, n: int) -> Path:
    return sorted(folder.glob("model-*.safetensors"))[n]


def problem_text(report) -> str:
    return "\n".join(p.message for p in report.problems)


def test_complete_omni_folder_is_ready_with_every_feature(omni_folder: Path) -> None:
    report = check_model_folder(omni_folder)

    assert report.can_start, report.summary_lines()
    assert report.problems == ()
    assert report.config.architecture == "MiMoV2OmniForCausalLM"
    assert report.features == {Feature.CHAT, Feature.IMAGES, Feature.VIDEO, Feature.AUDIO, Feature.MTP}
    assert report.mtp_layers_found == {0}
    assert [s.status for s in report.shards] == ["ok", "ok", "ok"]
    expected_bytes = sum(a.nbytes for a in tensors_for().values())
    assert report.weight_bytes == expected_bytes
    assert report.summary_lines()[-1].startswith("Ready: the model can start.")


def test_text_config_is_text_only_model(tmp_path: Path) -> None:
    folder = build_checkpoint(tmp_path / "text", audio=False)

    report = check_model_folder(folder)

    assert report.config.architecture == "MiMoV2ForCausalLM"
    assert report.features == {Feature.CHAT, Feature.MTP}
    assert any("text-only" in note for note in report.notes)


def test_missing_shard_blocks_start_and_names_the_file(omni_folder: Path) -> None:
    missing = shard(omni_folder, 1)
    missing.unlink()

    report = check_model_folder(omni_folder)

    assert not report.can_start
    assert report.features == frozenset()
    assert f"1 of 3 weight shards is missing: {missing.name}" in problem_text(report)
    assert [s.status for s in report.shards] == ["ok", "missing", "ok"]


def test_truncated_shard_is_caught_from_its_header(omni_folder: Path) -> None:
    cut = shard(omni_folder, 2)
    full = cut.stat().st_size
    os.truncate(cut, full - 1)

    report = check_model_folder(omni_folder)

    bad = report.shards[2]
    assert (bad.status, bad.size, bad.expected_size) == ("truncated", full - 1, full)
    assert "cut short" in problem_text(report) and cut.name in problem_text(report)
    assert not report.can_start


def test_shard_cut_inside_its_header_is_unreadable(omni_folder: Path) -> None:
    cut = shard(omni_folder, 0)
    os.truncate(cut, 20)

    report = check_model_folder(omni_folder)

    assert report.shards[0].status == "unreadable"
    assert "ends inside its header" in report.shards[0].detail
    assert not report.can_start


def test_shard_with_extra_bytes_is_damaged(omni_folder: Path) -> None:
    with open(shard(omni_folder, 0), "ab") as f:
        f.write(b"\0" * 7)

    report = check_model_folder(omni_folder)

    assert report.shards[0].status == "oversized"
    assert "7 bytes more" in report.shards[0].detail


def test_shard_from_another_checkpoint_lacks_the_indexed_tensors(omni_folder: Path) -> None:
    save_file({"something.else": np.zeros(4, np.float16)}, str(shard(omni_folder, 1)))

    report = check_model_folder(omni_folder)

    assert report.shards[1].status == "mismatch"
    assert "lacking tensors the index puts there" in problem_text(report)


def test_no_audio_tokenizer_disables_audio_only(omni_folder: Path) -> None:
    shutil.rmtree(omni_folder / "audio_tokenizer")

    report = check_model_folder(omni_folder)

    assert report.can_start
    assert Feature.AUDIO not in report.features
    assert {Feature.CHAT, Feature.IMAGES, Feature.VIDEO, Feature.MTP} <= report.features
    assert report.problems[0].consequence() == "no audio input"
    assert "audio_tokenizer/ folder is missing" in report.problems[0].message


def test_broken_audio_tokenizer_blocks_start_because_vllm_loads_it(omni_folder: Path) -> None:
    weights = omni_folder / "audio_tokenizer" / "model.safetensors"
    os.truncate(weights, weights.stat().st_size - 2)

    report = check_model_folder(omni_folder)

    assert not report.can_start
    assert "audio_tokenizer/model.safetensors is incomplete" in problem_text(report)
    assert "remove audio_tokenizer/ to run without audio" in problem_text(report)


def test_no_mtp_weights_disables_speculative_decoding_only(tmp_path: Path) -> None:
    folder = build_checkpoint(tmp_path / "no-mtp", audio=True, mtp=False)

    report = check_model_folder(folder)

    assert report.can_start
    assert Feature.MTP not in report.features
    assert Feature.AUDIO in report.features
    assert "declares 3 MTP layers but the weights hold no model.mtp.layers.0 tensors" in problem_text(report)
    assert report.problems[0].consequence() == "no MTP speculative decoding"


def test_corrupt_config_json_blocks_start_with_the_position(omni_folder: Path) -> None:
    config = omni_folder / "config.json"
    config.write_text(config.read_text()[:100])

    report = check_model_folder(omni_folder)

    assert not report.can_start
    assert report.config is None
    assert "config.json is not valid JSON (line" in problem_text(report)


def test_foreign_architecture_is_refused_by_name(omni_folder: Path) -> None:
    config = omni_folder / "config.json"
    raw = json.loads(config.read_text())
    raw["architectures"] = ["LlamaForCausalLM"]
    raw.pop("vision_config")
    config.write_text(json.dumps(raw))

    report = check_model_folder(omni_folder)

    assert "declares architecture 'LlamaForCausalLM', which is not a MiMo-V2 model" in problem_text(report)


def test_missing_tokenizer_and_chat_template_block_start(omni_folder: Path) -> None:
    (omni_folder / "tokenizer.json").unlink()
    (omni_folder / "tokenizer_config.json").write_text("{}")

    report = check_model_folder(omni_folder)

    assert "No tokenizer files" in problem_text(report)
    assert "No chat template" in problem_text(report)
    assert not report.can_start


def test_quantization_is_described_in_words(omni_folder: Path) -> None:
    config = omni_folder / "config.json"
    raw = json.loads(config.read_text())
    raw["quantization_config"] = {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]}
    config.write_text(json.dumps(raw))

    report = check_model_folder(omni_folder)

    assert report.config.quantization == "fp8 (e4m3, 128×128 blocks)"
    assert "Quantization: fp8 (e4m3, 128×128 blocks)" in report.summary_lines()


def test_single_file_checkpoint_without_index(tmp_path: Path) -> None:
    folder = build_checkpoint(tmp_path / "single", audio=False, num_shards=1)
    (folder / "model.safetensors.index.json").unlink()

    report = check_model_folder(folder)

    assert report.can_start and report.mtp_layers_found == {0}


def test_folder_without_weights(omni_folder: Path) -> None:
    for path in omni_folder.glob("model*"):
        path.unlink()

    report = check_model_folder(omni_folder)

    assert "No weight files (*.safetensors)" in problem_text(report)


def test_not_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="does not exist"):
        check_model_folder(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelFolderError, match="is a file; choose the folder"):
        check_model_folder(tmp_path / "file")


def test_header_reader_agrees_with_the_safetensors_package(tmp_path: Path) -> None:
    path = tmp_path / "x.safetensors"
    save_file({"a": np.zeros((3, 5), np.float32), "b": np.ones(7, np.int8)}, str(path), metadata={"k": "v"})

    header = read_shard_header(path)

    assert header.expected_size == path.stat().st_size
    assert header.data_bytes == 3 * 5 * 4 + 7
    assert set(header.tensor_names) == {"a", "b"}


def test_header_reader_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 5) + b"nope!")
    with pytest.raises(ShardHeaderError, match="not valid JSON"):
        read_shard_header(path)
    path.write_bytes(struct.pack("<Q", 2**40))
    with pytest.raises(ShardHeaderError, match="is not safetensors"):
        read_shard_header(path)


def test_index_written_by_helper_matches_shards(tmp_path: Path) -> None:
    # Guards the helper the other tests rely on: the index must name every tensor once.
    tensors = tensors_for()
    files = write_shards(tmp_path, tensors, 2)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert sorted(index["weight_map"]) == sorted(tensors)
    assert set(index["weight_map"].values()) == set(files)
