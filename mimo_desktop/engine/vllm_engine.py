"""The embedded engine: vLLM's AsyncLLM in this process, GPU workers in its own.

Created inside the EngineHost loop (AsyncLLM starts its output-handler task on
the running loop). Streams with RequestOutputKind.DELTA; cancelling the task
that iterates ``generate`` makes vLLM abort the request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from mimo_desktop.engine.protocol import StageCallback, StatsCallback
from mimo_desktop.engine.types import (
    EngineDied,
    EngineInfo,
    Finished,
    GenerationRequest,
    TextDelta,
)
from mimo_desktop.engine.vllm_errors import VLLM_MISSING, generate_failure, start_failure
from mimo_desktop.engine.reasoning import ReasoningSplitter
from mimo_desktop.engine.vllm_request import (
    build_prompt,
    build_sampling_params,
    check_media_limits,
    starts_in_reasoning,
    template_has_thinking_switch,
    without_video_sound,
)
from mimo_desktop.engine.vllm_settings import (
    ModelFolder,
    VllmSettings,
    effective_sampling_defaults,
    engine_args_kwargs,
    inspect_model_folder,
    make_engine_args,
    prepare_process_environment,
    resolve_tensor_parallel,
    visible_gpu_count,
)

log = logging.getLogger(__name__)


@dataclass
class OutputTracker:
    """Turns vLLM's delta RequestOutputs into our events' numbers."""

    request_id: str
    prompt_tokens: int | None = None
    output_tokens: int = 0
    finish_reason: str | None = None

    splitter: ReasoningSplitter | None = None  # None: no thinking block in this model's output

    def delta(self, output: Any) -> list[TextDelta]:
        if output.prompt_token_ids is not None:
            self.prompt_tokens = len(output.prompt_token_ids)
        completion = output.outputs[0]
        count = len(completion.token_ids)
        self.output_tokens += count
        if output.finished:
            self.finish_reason = str(completion.finish_reason or "stop")
        if not completion.text and not count and not output.finished:
            return []
        if self.splitter is None:
            return [TextDelta(self.request_id, completion.text, count)]
        pieces = self.splitter.feed(completion.text)
        if output.finished:
            pieces += self.splitter.finish()
        # The tokens are counted once, on the first piece; a delta held back whole still counts them.
        deltas = [TextDelta(self.request_id, p.text, count if i == 0 else 0, p.reasoning)
                  for i, p in enumerate(pieces)]
        return deltas or [TextDelta(self.request_id, "", count)]


class VllmEngine:
    def __init__(self, settings: VllmSettings, stats_interval_s: float = 1.0) -> None:
        self.settings = settings
        self._stats_interval = stats_interval_s
        self._llm: Any = None
        self._tokenizer: Any = None
        self._has_think_tokens = False
        self._accumulator: Any = None
        self._defaults: dict[str, Any] = {}
        self._limits: dict[str, int] = {}
        self.engine_kwargs: dict[str, Any] = {}

    async def start(self, on_stage: StageCallback, on_stats: StatsCallback) -> EngineInfo:
        on_stage("checking the model folder")
        folder = inspect_model_folder(self.settings.model_dir, self.settings.load_format)
        prepare_process_environment()
        on_stage("loading vLLM")
        try:
            from vllm.v1.engine.async_llm import AsyncLLM

            from mimo_desktop.engine.vllm_stats import StatsAccumulator, stat_logger_factory
        except ImportError as exc:
            raise EngineDied(f"{VLLM_MISSING} ({exc})") from exc
        from mimo_desktop.engine.vllm_patches import keep_video_timestamps

        keep_video_timestamps()
        gpus = visible_gpu_count()
        tp = resolve_tensor_parallel(self.settings, gpus)
        self.engine_kwargs = engine_args_kwargs(self.settings, folder, tp)
        self._limits = dict(self.engine_kwargs.get("limit_mm_per_prompt", {}))
        self._accumulator = StatsAccumulator(self._stats_interval)
        on_stage(f"starting {tp * self.settings.pipeline_parallel} GPU worker(s): "
                 "loading weights, profiling memory, preparing kernels")
        try:
            # Blocks this loop for the whole start (about a minute): vLLM wants
            # the running loop here, and the host's ticker keeps the UI informed.
            self._llm = AsyncLLM.from_engine_args(
                make_engine_args(self.engine_kwargs),
                stat_loggers=[stat_logger_factory(self._accumulator, on_stats)])
            self._tokenizer = self._llm.get_tokenizer()
            self._has_think_tokens = "</think>" in self._tokenizer.get_vocab()
            self._defaults = self._sampling_defaults(folder)
        except Exception as exc:  # noqa: BLE001 - every start failure becomes a clear message
            log.exception("vLLM engine start failed")
            await self.shutdown()
            raise start_failure(exc) from exc
        return self._info(folder, gpus, tp)

    def _sampling_defaults(self, folder: ModelFolder) -> dict[str, Any]:
        merged = effective_sampling_defaults(folder.generation_config)
        merged.update(self._llm.model_config.get_diff_sampling_param())
        return merged

    def _info(self, folder: ModelFolder, gpus: int, tp: int) -> EngineInfo:
        s = self.settings
        return EngineInfo(
            name=folder.path.name, gpus=gpus, tensor_parallel=tp, pipeline_parallel=s.pipeline_parallel,
            mtp_tokens=s.mtp_tokens if s.mtp else 0, max_context=self.engine_kwargs.get("max_model_len"),
            sampling_defaults={k: v for k, v in self._defaults.items() if k != "max_tokens"},
            modalities=folder.modalities, notes=folder.notes,
            thinking_switch=template_has_thinking_switch(self._tokenizer))

    @property
    def sampling_defaults(self) -> dict[str, Any]:
        return dict(self._defaults)

    @property
    def async_llm(self) -> Any:
        """vLLM's AsyncLLM (for benchmarks that compare against it); None when stopped."""
        return self._llm

    def prompt_and_params(self, request: GenerationRequest) -> tuple[dict[str, Any], Any]:
        return build_prompt(request, self._tokenizer), build_sampling_params(request.sampling, self._defaults)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[TextDelta | Finished]:
        if self._llm is None:
            raise EngineDied("The engine is not running. Start it first.")
        if not self._limits.get("audio"):
            request = without_video_sound(request)
        check_media_limits(request, self._limits)
        prompt, params = self.prompt_and_params(request)
        tracker = OutputTracker(request.request_id)
        inside = starts_in_reasoning(prompt["prompt"])
        if inside or self._has_think_tokens:
            tracker.splitter = ReasoningSplitter(start_in_reasoning=inside)
        mtp_before = (self._accumulator.total.drafted, self._accumulator.total.accepted)
        try:
            async for output in self._llm.generate(prompt, params, request.request_id):
                for delta in tracker.delta(output):
                    yield delta
        except Exception as exc:  # noqa: BLE001 - translated, never swallowed
            raise generate_failure(exc) from exc
        drafted = accepted = None
        if self.settings.mtp:
            # engine-wide counters over this request's life: exact when it ran alone
            drafted = self._accumulator.total.drafted - mtp_before[0]
            accepted = self._accumulator.total.accepted - mtp_before[1]
        yield Finished(request.request_id, tracker.finish_reason or "stop", tracker.prompt_tokens,
                       tracker.output_tokens, None, None, drafted, accepted)

    async def check_health(self) -> None:
        if self._llm is not None and self._llm.errored:
            raise generate_failure(self._llm.dead_error)

    async def abort(self, request_id: str) -> None:
        if self._llm is not None:
            await self._llm.abort(request_id)

    async def shutdown(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            llm.shutdown()
