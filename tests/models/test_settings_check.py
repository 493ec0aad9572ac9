"""The model-folder check in the settings' words (models.settings_check, Qt-free), on real tiny checkpoints:
a good folder can start and says how it fits the GPUs at the chosen TP size, a broken one says why not."""

from model_checkpoints import build_checkpoint

from mimo_desktop.models import GpuInfo, GpuSurvey
from mimo_desktop.models.settings_check import ESTIMATING, add_fit, check_folder
from mimo_desktop.models.units import GIB

ONE_H100 = GpuSurvey((GpuInfo(0, "NVIDIA H100 80GB HBM3", 80 * GIB, 79 * GIB),), "nvml")
NO_GPU = GpuSurvey((), "none", "no NVIDIA GPU or driver was found")


def test_a_good_folder_can_start_and_the_fit_follows_the_tensor_parallel_size(tmp_path):
    folder = build_checkpoint(tmp_path / "MiMo-tiny-omni", audio=True)
    check = check_folder(str(folder))
    assert check.can_start and check.blocking_reason() == "" and check.fit == ESTIMATING
    assert not any(line.startswith("PROBLEM") for line in check.lines())

    assert "Fits on 1 × NVIDIA H100" in add_fit(check, 1, 4096, ONE_H100).fit
    assert "TP 2 needs 2 GPUs but this machine has 1" in add_fit(check, 2, 4096, ONE_H100).fit
    assert "(GPU check: no NVIDIA GPU or driver was found.)" in add_fit(check, None, 4096, NO_GPU).fit
    done = add_fit(check, 1, 4096, ONE_H100)
    assert add_fit(done, 2, 4096, ONE_H100) is done  # the fit half runs once per check


def test_a_folder_with_a_cut_shard_or_none_at_all_says_why_it_cannot_start(tmp_path):
    folder = build_checkpoint(tmp_path / "MiMo-tiny-omni", audio=True)
    shard = next(folder.glob("*.safetensors"))
    shard.write_bytes(shard.read_bytes()[:-1000])
    broken = check_folder(str(folder))
    assert not broken.can_start
    assert broken.blocking_reason().startswith("The model in this folder cannot start: ")
    assert any(line.startswith("Missing or broken: ") and shard.name in line for line in broken.lines())

    nothing = check_folder(str(tmp_path / "no-such-folder"))
    assert nothing.report is None and not nothing.can_start
    assert nothing.blocking_reason() == nothing.error and nothing.lines() == [nothing.error]
