"""The one change we make to vLLM 0.33.0's behaviour, and why.

vLLM's MiMo-V2.5 Omni processing info builds its data parser (``MiMoV2OmniMultiModalDataParser``)
with ``video_needs_metadata=False``, so the second element of a ``(frames, timestamps)`` video
item is read as metadata and dropped; ``MiMoV2OmniMultiModalProcessor._get_hf_mm_inputs`` then
numbers the bare frames at its ``_INPUT_FPS`` of 1.0, one second apart, and MiMo's processor
writes wrong ``MM:SS`` timestamp tokens for any clip not sampled at exactly 1 fps. Re-checked on
0.33.0 (``tests/engine/test_vllm_patches.py`` fails without this patch). A parser that keeps the
metadata hands the processor ``(TCHW frames, timestamps)``, which it takes as "already in MiMo
format".

The parser keeps metadata only for videos that carry it. vLLM's own dummy videos (memory
profiling, processor warm-up) are bare frame arrays; a parser that always demands metadata
fails them with "Video metadata is required", which breaks the engine's start wherever the
profiling runs in a patched process (an in-process engine core, forked workers). Bare arrays
therefore take vLLM's unpatched path. Everything else is vLLM's own parser, unchanged (its
image-embedding fields, expected hidden size, audio resampling to 24 kHz).

Applied in the process that runs vLLM's input processing (the app's, where AsyncLLM lives);
the GPU workers never parse prompts. The media layer counts tokens the same way
(``ProcessorConfig.vllm_keeps_video_timestamps``), and tests/media/test_parity_vllm.py proves
the counts equal vLLM's with this patch in place.
"""

from __future__ import annotations

import copy
from typing import Any

_PATCHED = "_mimo_desktop_keeps_video_timestamps"


def carries_timestamps(data: Any) -> bool:
    """True when a video entry of ``multi_modal_data`` holds (frames, timestamps) items.

    vLLM reads a 2-tuple as one (video, metadata) item and a list as several items.
    """
    items = [data] if isinstance(data, tuple) else data if isinstance(data, list) else []
    return any(isinstance(item, tuple) and len(item) == 2 for item in items)


def keeping_timestamps(parser: Any) -> Any:
    """``parser`` (vLLM's), except that videos given as (frames, timestamps) keep their timestamps."""
    keeping = copy.copy(parser)
    keeping.video_needs_metadata = True
    plain_videos, timed_videos = parser._parse_video_data, keeping._parse_video_data

    def parse_video_data(data: Any) -> Any:
        return timed_videos(data) if data is not None and carries_timestamps(data) else plain_videos(data)

    parser._parse_video_data = parse_video_data  # vLLM looks its subparsers up per call (_get_subparsers)
    return parser


def keep_video_timestamps() -> bool:
    """Make vLLM keep the timestamps of (frames, timestamps) videos for MiMo. Returns True if applied."""
    try:
        from vllm.model_executor.models.mimo_v2_omni import MiMoV2OmniProcessingInfo
    except ImportError:
        return False
    if getattr(MiMoV2OmniProcessingInfo, _PATCHED, False):
        return True
    vllm_get_data_parser = MiMoV2OmniProcessingInfo.get_data_parser

    def get_data_parser(self):  # vLLM's, plus timestamps kept where given
        return keeping_timestamps(vllm_get_data_parser(self))

    MiMoV2OmniProcessingInfo.get_data_parser = get_data_parser
    setattr(MiMoV2OmniProcessingInfo, _PATCHED, vllm_get_data_parser)  # vLLM's own, for the tests
    return True
