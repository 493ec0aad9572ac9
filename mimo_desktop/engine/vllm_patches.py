"""The one change we make to vLLM 0.26.0's behaviour, and why.

vLLM's MiMo-V2.5 Omni processing info builds its data parser with ``video_needs_metadata=False``,
so the second element of a ``(frames, timestamps)`` video item is read as metadata and dropped;
MiMo's processor then numbers the frames one second apart and writes wrong ``MM:SS`` timestamp
tokens for any clip not sampled at exactly 1 fps. Asking the parser to keep the metadata hands
MiMo's processor the real timestamps (its ``VideoInput`` accepts ``(frames, timestamps)``).

Applied in the process that runs vLLM's input processing (the app's, where AsyncLLM lives);
the GPU workers never parse prompts. The media layer counts tokens the same way
(``ProcessorConfig.vllm_keeps_video_timestamps``), and tests/media/test_parity_vllm.py proves
the counts equal vLLM's with this patch in place.
"""

from __future__ import annotations

_PATCHED = "_mimo_desktop_keeps_video_timestamps"


def keep_video_timestamps() -> bool:
    """Make vLLM keep the timestamps of (frames, timestamps) videos for MiMo. Returns True if applied."""
    try:
        from vllm.model_executor.models.mimo_v2_omni import MiMoV2OmniProcessingInfo
        from vllm.multimodal.parse import MultiModalDataParser
    except ImportError:
        return False
    if getattr(MiMoV2OmniProcessingInfo, _PATCHED, False):
        return True

    def get_data_parser(self):  # same as vLLM's, plus video_needs_metadata
        return MultiModalDataParser(target_sr=24000.0, video_needs_metadata=True)

    MiMoV2OmniProcessingInfo.get_data_parser = get_data_parser
    setattr(MiMoV2OmniProcessingInfo, _PATCHED, True)
    return True
