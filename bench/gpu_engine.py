"""Embedded engine on the GPUs: TTFT, tokens/s and MTP acceptance through the app's path
(EngineHost + events to a callback on another thread) against a bare AsyncLLM loop over the
same prompts, on the same engine, in the same run (interleaved, alternating order).

    python bench/gpu_engine.py [--model DIR] [--mtp K] [--tokens N] [--rounds R] [--json FILE]
    python bench/gpu_engine.py --trained DIR --compare-mtp 0,1,3 [--tokens N] [--rounds R] [--json FILE]

Without --model it writes the tiny dummy-weight MiMo-V2.5 Omni (tests/tiny_mimo.py):
random weights, so the figures prove the plumbing and the app's overhead, not MiMo's speed.
Goal (issue 4): throughput ratio app/bare >= 0.98 and TTFT within 5 ms.

--trained DIR (a layout folder of tests/trained_mimo.py) with --compare-mtp: one engine after another on the
same GPU in one run, each MTP setting, CUDA graphs on (--eager to turn them off); decode tokens/s through the
app's path (EngineHost events) on the checkpoint's own prompts, MTP acceptance rate and mean acceptance length
over the timed requests. Goal (issue 11): acceptance >= 0.6 and MTP 3 >= 1.5x MTP off.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mimo_desktop.engine import (  # noqa: E402
    EngineHost,
    EngineStateChanged,
    Failed,
    Finished,
    GenerationRequest,
    SamplingSettings,
    TextDelta,
    Turn,
)

PROMPTS = ["The quick brown fox jumps over the lazy dog.", "Describe the image.", "What is in this video?",
           "Transcribe the audio.", "The lazy dog sleeps."]


@dataclass
class Timing:
    t0: float
    first: float | None = None
    first_tokens: int = 0
    tokens: int = 0
    end: float | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def ttft(self) -> float:
        return self.first - self.t0

    def decode(self) -> tuple[int, float]:
        return self.tokens - self.first_tokens, self.end - self.first


class AppPath:
    """Times requests as the UI would see them: submit() on this thread, events on the engine thread."""

    def __init__(self) -> None:
        self.timings: dict[str, Timing] = {}
        self.ready = threading.Event()
        self.failure: str | None = None

    def __call__(self, event) -> None:
        now = time.monotonic()
        if isinstance(event, EngineStateChanged):
            if event.state in ("ready", "dead"):
                self.failure = event.message or None
                self.ready.set()
            return
        timing = self.timings.get(getattr(event, "request_id", ""))
        if timing is None:
            return
        if isinstance(event, TextDelta):
            if timing.first is None:
                timing.first, timing.first_tokens = now, event.token_count
            timing.tokens += event.token_count
        elif isinstance(event, (Finished, Failed)):
            if isinstance(event, Failed):
                print("FAILED", event.message)
            timing.end = now
            timing.done.set()

    def run(self, host: EngineHost, request: GenerationRequest) -> Timing:
        timing = self.timings[request.request_id] = Timing(time.monotonic())
        host.submit(request)
        assert timing.done.wait(300)
        return timing


async def _bare(engine, request: GenerationRequest, timing: Timing) -> Timing:
    """vLLM's own loop, nothing of ours in between (prompt building done before t0)."""
    prompt, params = engine.prompt_and_params(request)
    async for out in engine.async_llm.generate(prompt, params, request.request_id):
        n = len(out.outputs[0].token_ids)
        if n and timing.first is None:
            timing.first, timing.first_tokens = time.monotonic(), n
        timing.tokens += n
    timing.end = time.monotonic()
    return timing


def run_bare(host: EngineHost, request: GenerationRequest) -> Timing:
    timing = Timing(time.monotonic())
    return host.run_coroutine(_bare(host.engine, request, timing)).result(300)


def summarize(timings: list[Timing]) -> dict:
    tokens = sum(t.decode()[0] for t in timings)
    seconds = sum(t.decode()[1] for t in timings)
    return {"ttft_ms_median": statistics.median(t.ttft() for t in timings) * 1000,
            "decode_tok_s": tokens / seconds, "requests": len(timings), "tokens": sum(t.tokens for t in timings)}


def compare_mtp(args) -> int:
    """Each MTP setting on its own engine, one after another; the app's path only (what the user sees)."""
    from mimo_desktop.engine.vllm_engine import VllmEngine
    from mimo_desktop.engine.vllm_settings import VllmSettings

    sys.path.insert(0, str(REPO / "tests"))
    from trained_mimo import ANIMALS, prompt_story

    prompts = [prompt_story(a) for a in ANIMALS]
    rows = []
    for k in [int(x) for x in args.compare_mtp.split(",")]:
        settings = VllmSettings(model_dir=args.trained, enforce_eager=args.eager, mtp=k > 0, mtp_tokens=max(1, k),
                                max_context=2048, gpu_memory_fraction=args.gpu_memory)
        app = AppPath()
        host = EngineHost(lambda s=settings: VllmEngine(s), app)
        t0 = time.monotonic()
        host.start()
        app.ready.wait(600)
        ready_s = time.monotonic() - t0
        if host.state != "ready":
            print(f"MTP {k}: engine failed to start:", app.failure)
            host.shutdown()
            rows.append({"mtp": k, "failed": app.failure})
            continue

        def request(text: str) -> GenerationRequest:
            return GenerationRequest((Turn("user", text),), SamplingSettings(
                max_tokens=args.tokens, temperature=0.0, ignore_eos=True))

        for text in prompts[:2]:  # warm-up (first-use kernels, graph replays)
            app.run(host, request(text))
        acc = getattr(host.engine, "_accumulator", None)
        before = (acc.total.drafts, acc.total.drafted, acc.total.accepted) if acc else (0, 0, 0)
        timings = [app.run(host, request(text)) for _ in range(args.rounds) for text in prompts]
        drafts, drafted, accepted = ((acc.total.drafts - before[0], acc.total.drafted - before[1],
                                      acc.total.accepted - before[2]) if acc else (0, 0, 0))
        row = {"mtp": k, "ready_s": round(ready_s, 1), **summarize(timings),
               "drafted": drafted, "accepted": accepted,
               "acceptance_rate": accepted / drafted if drafted else None,
               "mean_acceptance_length": 1 + accepted / drafts if drafts else None,
               "cuda_graphs": not args.eager}
        host.shutdown(timeout_s=120)
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)
    base = next((r for r in rows if r.get("mtp") == 0 and "decode_tok_s" in r), None)
    print(f"{'MTP':>4} {'ready s':>8} {'decode tok/s':>13} {'vs off':>7} {'TTFT ms':>8} {'acceptance':>11} {'mean len':>9}")
    for r in rows:
        if "decode_tok_s" not in r:
            print(f"{r['mtp']:>4} failed: {r.get('failed')}")
            continue
        ratio = r["decode_tok_s"] / base["decode_tok_s"] if base else float("nan")
        r["speedup_vs_off"] = ratio
        acc_s = f"{r['acceptance_rate']:.3f}" if r["acceptance_rate"] is not None else "-"
        len_s = f"{r['mean_acceptance_length']:.2f}" if r["mean_acceptance_length"] is not None else "-"
        print(f"{r['mtp']:>4} {r['ready_s']:>8.1f} {r['decode_tok_s']:>13.1f} {ratio:>7.2f} "
              f"{r['ttft_ms_median']:>8.2f} {acc_s:>11} {len_s:>9}")
    if args.json:
        args.json.write_text(json.dumps({"tokens": args.tokens, "rounds": args.rounds, "prompts": len(prompts),
                                         "rows": rows}, indent=1, default=str))
    return 0 if rows and all("decode_tok_s" in r for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/gpu_engine.py")
    p.add_argument("--model", type=Path)
    p.add_argument("--mtp", type=int, default=1, help="speculative tokens, 0 = MTP off")
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--gpu-memory", type=float, default=0.25)
    p.add_argument("--json", type=Path)
    p.add_argument("--trained", type=Path, help="a tests/trained_mimo.py layout folder (with --compare-mtp)")
    p.add_argument("--compare-mtp", help="MTP settings to run one after another, e.g. 0,1,3")
    p.add_argument("--eager", action="store_true", help="CUDA graphs off (enforce_eager) in --compare-mtp")
    args = p.parse_args(argv)
    if args.compare_mtp:
        if args.trained is None:
            p.error("--compare-mtp needs --trained DIR")
        return compare_mtp(args)

    from mimo_desktop.engine.vllm_engine import VllmEngine
    from mimo_desktop.engine.vllm_settings import VllmSettings

    model = args.model
    if model is None:
        sys.path.insert(0, str(REPO / "tests"))
        from tiny_mimo import main as write_tiny_mimo

        model = Path(tempfile.mkdtemp()) / "tiny-mimo-omni"
        write_tiny_mimo(str(model), omni=True)
    settings = VllmSettings(model_dir=model, load_format="dummy" if args.model is None else "auto",
                            enforce_eager=True, mtp=args.mtp > 0, mtp_tokens=max(1, args.mtp),
                            max_context=4096, gpu_memory_fraction=args.gpu_memory)
    app = AppPath()
    host = EngineHost(lambda: VllmEngine(settings), app)
    t0 = time.monotonic()
    host.start()
    app.ready.wait(600)
    ready_s = time.monotonic() - t0
    if host.state != "ready":
        print("engine failed to start:", app.failure)
        host.shutdown()
        return 1

    def request(text: str) -> GenerationRequest:
        return GenerationRequest((Turn("user", text),), SamplingSettings(
            max_tokens=args.tokens, temperature=0.0, ignore_eos=True))

    app.run(host, request("warm up"))
    run_bare(host, request("warm up"))
    stats_before = host.last_stats
    paths: dict[str, list[Timing]] = {"app": [], "bare": []}
    for r in range(args.rounds):
        for i, text in enumerate(PROMPTS):
            order = ("app", "bare") if (r + i) % 2 == 0 else ("bare", "app")
            for name in order:
                timing = app.run(host, request(text)) if name == "app" else run_bare(host, request(text))
                paths[name].append(timing)
    stats = host.last_stats
    t1 = time.monotonic()
    clean = host.shutdown(timeout_s=120)
    shutdown_s = time.monotonic() - t1

    app_s, bare_s = summarize(paths["app"]), summarize(paths["bare"])
    result = {
        "gpus": host.info.gpus, "tp": host.info.tensor_parallel, "mtp": host.info.mtp_tokens,
        "ready_s": ready_s, "shutdown_s": shutdown_s, "shutdown_clean": clean,
        "app": app_s, "bare": bare_s,
        "throughput_ratio": app_s["decode_tok_s"] / bare_s["decode_tok_s"],
        "ttft_diff_ms": app_s["ttft_ms_median"] - bare_s["ttft_ms_median"],
        "mtp_drafted": stats.mtp_drafted if stats else None, "mtp_accepted": stats.mtp_accepted if stats else None,
        "mtp_acceptance": (stats.mtp_accepted / stats.mtp_drafted) if stats and stats.mtp_drafted else None,
        "mtp_drafted_before_rounds": stats_before.mtp_drafted if stats_before else None,
        "kv_cache_usage_last": stats.kv_cache_usage if stats else None,
    }
    print(f"engine ready in {ready_s:.1f} s: {result['gpus']} GPU(s), TP={result['tp']}, MTP={result['mtp']}")
    for name, s in (("app (EngineHost)", app_s), ("bare AsyncLLM", bare_s)):
        print(f"{name:18s} TTFT median {s['ttft_ms_median']:7.2f} ms   decode {s['decode_tok_s']:8.1f} tok/s"
              f"   ({s['requests']} requests, {s['tokens']} tokens)")
    print(f"throughput ratio app/bare {result['throughput_ratio']:.3f} (goal >= 0.98); "
          f"TTFT difference {result['ttft_diff_ms']:+.2f} ms (goal within 5 ms)")
    if result["mtp_acceptance"] is not None:
        print(f"MTP: {result['mtp_accepted']}/{result['mtp_drafted']} draft tokens accepted "
              f"({result['mtp_acceptance']:.1%}; random weights)")
    print(f"shutdown {shutdown_s:.1f} s, clean={clean}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
