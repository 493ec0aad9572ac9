"""The one change to vLLM's behaviour, on the CPU with vLLM's own parser classes."""

import numpy as np
import pytest
import torch

from mimo_desktop.engine.vllm_patches import carries_timestamps, keep_video_timestamps

pytest.importorskip("vllm", reason="vLLM 0.26.0 is not importable here")


def test_only_frames_with_timestamps_count_as_carrying_them():
    frames = torch.zeros(4, 3, 28, 28, dtype=torch.uint8)
    times = torch.tensor([0.0, 0.5, 1.0, 1.5])
    assert carries_timestamps((frames, times))
    assert carries_timestamps([(frames, times), (frames, times)])
    assert not carries_timestamps(frames)
    assert not carries_timestamps([frames])
    assert not carries_timestamps(np.zeros((4, 28, 28, 3), dtype=np.uint8))


def test_patched_parser_keeps_timestamps_and_still_takes_bare_frames():
    from vllm.model_executor.models.mimo_v2_omni import MiMoV2OmniProcessingInfo

    assert keep_video_timestamps() and keep_video_timestamps()  # idempotent
    parser = MiMoV2OmniProcessingInfo.get_data_parser(None)
    frames = torch.zeros(4, 3, 28, 28, dtype=torch.uint8)
    times = torch.tensor([0.0, 0.5, 1.0, 1.5])
    kept = parser.parse_mm_data({"video": [(frames, times)]})["video"]
    assert torch.equal(kept.metadata[0], times)  # handed on to MiMo's processor, not dropped
    # vLLM's own dummy videos for memory profiling are bare frames: they must still parse
    bare = parser.parse_mm_data({"video": [np.zeros((4, 28, 28, 3), dtype=np.uint8)]})["video"]
    assert len(bare) == 1
