"""Live engine statistics from a vLLM stat logger (``AsyncLLM(stat_loggers=...)``).

Imports vLLM at module level: only the embedded engine imports this module,
when it starts. vLLM calls ``record`` from AsyncLLM's output-handler task,
i.e. on the EngineHost loop thread, once per engine step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vllm.config import VllmConfig
from vllm.v1.metrics.loggers import StatLoggerBase
from vllm.v1.metrics.stats import IterationStats, MultiModalCacheStats, SchedulerStats

from mimo_desktop.engine.types import EngineStats

StatsSink = Callable[[EngineStats], None]


@dataclass
class MtpCounters:
    drafts: int = 0
    drafted: int = 0
    accepted: int = 0


class StatsAccumulator:
    """Sums per-step figures and turns them into rates every ``interval_s``."""

    def __init__(self, interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval, self._clock = interval_s, clock
        self.total = MtpCounters()  # since start: per-request MTP figures are differences of it
        self._window = MtpCounters()
        self._gen_tokens = self._prompt_tokens = 0
        self._since = clock()
        self.kv_cache_usage: float | None = None
        self.running = self.waiting = 0

    def add_step(self, generated: int, prompted: int) -> None:
        self._gen_tokens += generated
        self._prompt_tokens += prompted

    def add_scheduler(self, kv_usage: float, running: int, waiting: int) -> None:
        self.kv_cache_usage, self.running, self.waiting = kv_usage, running, waiting

    def add_drafts(self, drafts: int, drafted: int, accepted: int) -> None:
        for counters in (self.total, self._window):
            counters.drafts += drafts
            counters.drafted += drafted
            counters.accepted += accepted

    def due(self) -> bool:
        return self._clock() - self._since >= self._interval

    def snapshot(self) -> EngineStats:
        """The figures of the window since the last snapshot; starts a new window."""
        now = self._clock()
        span = max(now - self._since, 1e-9)
        win = self._window
        stats = EngineStats(
            generation_tokens_per_s=self._gen_tokens / span,
            prompt_tokens_per_s=self._prompt_tokens / span,
            kv_cache_usage=self.kv_cache_usage,
            running_requests=self.running,
            waiting_requests=self.waiting,
            mtp_drafted=self.total.drafted,
            mtp_accepted=self.total.accepted,
            mtp_acceptance_rate=win.accepted / win.drafted if win.drafted else None,
            # vLLM's convention: the bonus token counts, so 1 + accepted per draft
            mtp_mean_acceptance_length=1 + win.accepted / win.drafts if win.drafts else None,
        )
        self._window = MtpCounters()
        self._gen_tokens = self._prompt_tokens = 0
        self._since = now
        return stats


class MimoStatLogger(StatLoggerBase):
    """Feeds a StatsAccumulator and hands a snapshot to ``sink`` about once a second."""

    def __init__(self, vllm_config: VllmConfig, engine_index: int = 0, *,
                 sink: StatsSink | None = None, accumulator: StatsAccumulator | None = None) -> None:
        self.vllm_config = vllm_config
        self.engine_index = engine_index
        self.sink = sink
        self.acc = accumulator or StatsAccumulator()

    def record(self, scheduler_stats: SchedulerStats | None, iteration_stats: IterationStats | None,
               mm_cache_stats: MultiModalCacheStats | None = None, engine_idx: int = 0) -> None:
        if iteration_stats is not None:
            self.acc.add_step(iteration_stats.num_generation_tokens, iteration_stats.num_prompt_tokens)
        if scheduler_stats is not None:
            self.acc.add_scheduler(scheduler_stats.kv_cache_usage, scheduler_stats.num_running_reqs,
                                   scheduler_stats.num_waiting_reqs)
            spec = scheduler_stats.spec_decoding_stats
            if spec is not None:
                self.acc.add_drafts(spec.num_drafts, spec.num_draft_tokens, spec.num_accepted_tokens)
        if self.sink is not None and self.acc.due():
            self.sink(self.acc.snapshot())

    def log_engine_initialized(self) -> None:
        pass

    def log(self) -> None:
        if self.sink is not None:
            self.sink(self.acc.snapshot())


def stat_logger_factory(accumulator: StatsAccumulator, sink: StatsSink) -> Callable[..., MimoStatLogger]:
    """vLLM calls the factory as ``factory(vllm_config, engine_index)``."""

    def make(vllm_config: VllmConfig, engine_index: int = 0) -> MimoStatLogger:
        return MimoStatLogger(vllm_config, engine_index, sink=sink, accumulator=accumulator)

    return make
