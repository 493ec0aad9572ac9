"""The one change to vLLM 0.33.0's behaviour, on the CPU through vLLM's own multimodal processor."""

import numpy as np
import pytest
import torch
from tiny_mimo import main as write_tiny_mimo

from mimo_desktop.engine.vllm_patches import _PATCHED, carries_timestamps, keep_video_timestamps

pytest.importorskip("vllm", reason="vLLM 0.33.0 is not importable here")
pytestmark = pytest.mark.vllm

# 8 frames sampled every 2 s (0.5 fps): MiMo's processor pairs them (temporal patch 2), so the grid steps
# are 4 s apart and the prompt must say 00:00, 00:04, 00:08, 00:12.
FRAMES = torch.zeros(8, 3, 56, 56, dtype=torch.uint8)
TIMES = torch.arange(8, dtype=torch.float32) * 2.0


@pytest.fixture(scope="module")
def omni_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny-mimo-omni"
    write_tiny_mimo(str(path), omni=True)
    return path


@pytest.fixture
def vllm_parser_unpatched(monkeypatch):
    from vllm.model_executor.models.mimo_v2_omni import MiMoV2OmniProcessingInfo as Info

    original = getattr(Info, _PATCHED, None) or Info.get_data_parser
    monkeypatch.setattr(Info, "get_data_parser", original)
    monkeypatch.setattr(Info, _PATCHED, None, raising=False)


def prompt_text(model_dir, video) -> str:
    """What vLLM's own MiMo-V2.5 processor makes of one video placeholder (as the embedded engine runs it)."""
    from vllm.config import ModelConfig
    from vllm.multimodal import MULTIMODAL_REGISTRY

    model = ModelConfig(model=str(model_dir), trust_remote_code=True, dtype="bfloat16", max_model_len=4096,
                        mm_processor_cache_gb=0)
    proc = MULTIMODAL_REGISTRY.create_processor(model)
    tokenizer = proc.info.get_tokenizer()
    out = proc(tokenizer.encode("<|vision_start|><|video_pad|><|vision_end|>"),
               proc.info.parse_mm_data({"video": [video]}))
    return tokenizer.decode(out["prompt_token_ids"])


def stamps(text: str) -> list[str]:
    import re

    return re.findall(r"\d\d:\d\d", text)


def test_only_frames_with_timestamps_count_as_carrying_them():
    assert carries_timestamps((FRAMES, TIMES))
    assert carries_timestamps([(FRAMES, TIMES), (FRAMES, TIMES)])
    assert not carries_timestamps(FRAMES)
    assert not carries_timestamps([FRAMES])
    assert not carries_timestamps(np.zeros((4, 28, 28, 3), dtype=np.uint8))


def test_unpatched_vllm_drops_the_timestamps(omni_dir, vllm_parser_unpatched):
    # Why the patch exists: 0.33.0 numbers the frames one second apart whatever times it was given.
    assert stamps(prompt_text(omni_dir, (FRAMES, TIMES))) == ["00:00", "00:02", "00:04", "00:06"]


def test_patched_vllm_writes_the_real_times_and_still_takes_bare_frames(omni_dir):
    assert keep_video_timestamps() and keep_video_timestamps()  # idempotent
    assert stamps(prompt_text(omni_dir, (FRAMES, TIMES))) == ["00:00", "00:04", "00:08", "00:12"]
    # vLLM's own dummy videos for memory profiling are bare frames: they must still parse, vLLM's way
    bare = np.zeros((8, 56, 56, 3), dtype=np.uint8)
    assert stamps(prompt_text(omni_dir, bare)) == ["00:00", "00:02", "00:04", "00:06"]
