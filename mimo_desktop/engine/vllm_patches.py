"""The one change we make to vLLM 0.26.0's behaviour, and why.

vLLM's MiMo-V2.5 Omni processing info builds its data parser with ``video_needs_metadata=False``,
so the second element of a ``(frames, timestamps)`` video item is read as metadata and dropped;
MiMo's processor then numbers the frames one second apart and writes wrong ``MM:SS`` timestamp
tokens for any clip not sampled at exactly 1 fps. Asking the parser to keep the metadata hands
MiMo's processor the real timestamps (its ``VideoInput`` accepts ``(frames, timestamps)``).

The parser keeps metadata only for videos that carry it. vLLM's own dummy videos (memory
profiling, processor warm-up) are bare frame arrays; a parser that always demands metadata
fails them with "Video metadata is required", which breaks the engine's start wherever the
profiling runs in a patched process (an in-process engine core, forked workers). Bare arrays
therefore take vLLM's unpatched path.

Applied in the process that runs vLLM's input processing (the app's, where AsyncLLM lives);
the GPU workers never parse prompts. The media layer counts tokens the same way
(``ProcessorConfig.vllm_keeps_video_timestamps``), and tests/media/test_parity_vllm.py proves
the counts equal vLLM's with this patch in place.
"""

from __future__ import annotations

from typing import Any

_PATCHED = "_mimo_desktop_keeps_video_timestamps"
_AUDIO_RATE = 24000.0  # as vLLM's MiMoV2OmniProcessingInfo.get_data_parser


def carries_timestamps(data: Any) -> bool:
    """True when a video entry of ``multi_modal_data`` holds (frames, timestamps) items.

    vLLM reads a 2-tuple as one (video, metadata) item and a list as several items.
    """
    items = [data] if isinstance(data, tuple) else data if isinstance(data, list) else []
    return any(isinstance(item, tuple) and len(item) == 2 for item in items)


def _timestamp_keeping_parser() -> Any:
    from vllm.multimodal.parse import MultiModalDataParser

    class TimestampKeepingParser(MultiModalDataParser):
        """Keeps the timestamps of (frames, timestamps) videos; bare frames go vLLM's usual way."""

        def __init__(self) -> None:
            super().__init__(target_sr=_AUDIO_RATE, video_needs_metadata=True)
            self._plain = MultiModalDataParser(target_sr=_AUDIO_RATE)

        def _parse_video_data(self, data):
            if data is None or carries_timestamps(data):
                return super()._parse_video_data(data)
            return self._plain._parse_video_data(data)

    return TimestampKeepingParser


def keep_video_timestamps() -> bool:
    """Make vLLM keep the timestamps of (frames, timestamps) videos for MiMo. Returns True if applied."""
    try:
        from vllm.model_executor.models.mimo_v2_omni import MiMoV2OmniProcessingInfo
    except ImportError:
        return False
    if getattr(MiMoV2OmniProcessingInfo, _PATCHED, False):
        return True
    parser_class = _timestamp_keeping_parser()

    def get_data_parser(self):  # vLLM's, plus timestamps kept where given
        return parser_class()

    MiMoV2OmniProcessingInfo.get_data_parser = get_data_parser
    setattr(MiMoV2OmniProcessingInfo, _PATCHED, True)
    return True
