"""Server-side statistics from a vLLM server's Prometheus ``/metrics`` endpoint.

The same figures the embedded engine's stat logger gives (MTP acceptance,
generation throughput, KV-cache use), from counter differences between two
scrapes. Servers without these metrics (SGLang, proxies) simply give none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mimo_desktop.engine.types import EngineStats

_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eE]+|NaN|[+-]Inf)\s*$")

WANTED = {
    "vllm:generation_tokens_total": "generated",
    "vllm:prompt_tokens_total": "prompted",
    "vllm:spec_decode_num_drafts_total": "drafts",
    "vllm:spec_decode_num_draft_tokens_total": "drafted",
    "vllm:spec_decode_num_accepted_tokens_total": "accepted",
    "vllm:kv_cache_usage_perc": "kv_cache_usage",
    "vllm:num_requests_running": "running",
    "vllm:num_requests_waiting": "waiting",
}


def parse_metrics(text: str) -> dict[str, float]:
    """Our figures from Prometheus text, summed over label sets (engines, models)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match is None or match.group(1) not in WANTED:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        key = WANTED[match.group(1)]
        values[key] = values.get(key, 0.0) + value
    return values


@dataclass
class Scrape:
    at: float
    values: dict[str, float]


def stats_between(before: Scrape, after: Scrape) -> EngineStats:
    span = max(after.at - before.at, 1e-9)

    def delta(key: str) -> float:
        return after.values.get(key, 0.0) - before.values.get(key, 0.0)

    drafts, drafted, accepted = delta("drafts"), delta("drafted"), delta("accepted")
    now = after.values
    return EngineStats(
        generation_tokens_per_s=delta("generated") / span,
        prompt_tokens_per_s=delta("prompted") / span,
        kv_cache_usage=now.get("kv_cache_usage"),
        running_requests=int(now["running"]) if "running" in now else None,
        waiting_requests=int(now["waiting"]) if "waiting" in now else None,
        mtp_drafted=int(now.get("drafted", 0)),
        mtp_accepted=int(now.get("accepted", 0)),
        mtp_acceptance_rate=accepted / drafted if drafted > 0 else None,
        mtp_mean_acceptance_length=1 + accepted / drafts if drafts > 0 else None,
    )
