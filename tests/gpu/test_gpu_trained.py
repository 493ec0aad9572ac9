"""The trained MiMo-V2.5 checkpoint (tests/trained_mimo.py) on a GPU through EngineHost, in both layouts.

Layout (a), BF16 with separate q/k/v: the answers the user sees (the streamed text) and the token ids vLLM
sampled are the transformers goldens (tests/goldens/trained_mimo.json), identical for all 128 greedy tokens of
every prompt. Layout (b), the official FP8 layout: tokens identical to the goldens wherever the golden's top-1
margin is at least FP8_MARGIN nats; the first difference, if any, may only come where the BF16 reference itself
is close to a tie (justified in docs/gpu.md: e4m3 weights with 128x128 block scales and FP8 activations move a
logit by a few tenths of a nat here; a larger margin cannot flip). Chosen-token logprobs are recorded against
the goldens for both. MTP 1 is on, as in the app; its acceptance with trained weights is recorded.

The checkpoint folders come from MIMO_TRAINED_DIR (its bf16/ and fp8/, carried to the GPU host), else are
built here (minutes on the CPU). Run: bash scripts/gpu_run.sh (on the device machine)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from engine_events import Recorder
from gpu_helpers import record, start_engine

from mimo_desktop.engine import EngineHost, Finished, GenerationRequest, SamplingSettings, TextDelta, Turn

GOLDENS = json.loads((Path(__file__).resolve().parents[1] / "goldens" / "trained_mimo.json").read_text())
FP8_MARGIN = 1.0  # nats between the golden's top-1 and top-2 below which FP8 may pick the other token
BF16_DLOGPROB = 0.25  # chosen-token |logprob difference|: vLLM BF16 on the GPU against transformers BF16 on the CPU
FP8_DLOGPROB = 1.0
START_TIMEOUT = 600.0


def checkpoint(layout: str) -> Path:
    root = os.environ.get("MIMO_TRAINED_DIR")
    if root:
        return Path(root) / layout
    from trained_mimo import build

    return build()[layout]


def gpu_memory_used_mib() -> list[int]:
    out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, check=False).stdout
    return [int(x) for x in out.split()] if out.strip() else []


@pytest.fixture(scope="module", params=["bf16", "fp8"])
def engine(request):
    from mimo_desktop.engine.vllm_settings import VllmSettings

    folder = checkpoint(request.param)
    if not (folder / "model.safetensors").exists():
        pytest.fail(f"no {request.param} checkpoint at {folder}")
    before = gpu_memory_used_mib()
    settings = VllmSettings(model_dir=folder, enforce_eager=True, mtp=True, mtp_tokens=1, max_context=2048,
                            gpu_memory_fraction=float(os.environ.get("MIMO_GPU_MEM", "0.25")))
    host, recorder, ready_s = start_engine(settings, START_TIMEOUT)
    yield request.param, host, recorder, {"ready_s": round(ready_s, 1), "mem_before_mib": before,
                                          "mem_ready_mib": gpu_memory_used_mib(),
                                          "checkpoint_mb": round((folder / "model.safetensors").stat().st_size / 1e6, 1)}
    host.shutdown(timeout_s=120)


def greedy(n: int) -> SamplingSettings:
    return SamplingSettings(max_tokens=n, temperature=0.0, ignore_eos=True)


def through_app(host: EngineHost, recorder: Recorder, prompt: str) -> tuple[str, Finished]:
    req = GenerationRequest((Turn("user", prompt),), greedy(GOLDENS["max_new_tokens"]))
    host.submit(req)
    end = recorder.wait_end(req.request_id, timeout=120)
    assert isinstance(end, Finished), end
    text = "".join(e.text for e in recorder.for_request(req.request_id) if isinstance(e, TextDelta) and not e.reasoning)
    return text, end


def through_vllm(host: EngineHost, prompt: str) -> tuple[str, list[int], list[int], list[float]]:
    """The same request on the same engine, read off vLLM's own output: prompt ids, token ids, logprobs."""
    from vllm.sampling_params import SamplingParams

    req = GenerationRequest((Turn("user", prompt),), greedy(GOLDENS["max_new_tokens"]))

    async def go():
        engine = host.engine
        prompt_dict, _ = engine.prompt_and_params(req)
        params = SamplingParams(max_tokens=GOLDENS["max_new_tokens"], temperature=0.0, ignore_eos=True, logprobs=1)
        final = None
        async for out in engine.async_llm.generate(prompt_dict, params, req.request_id + "-ids"):
            final = out
        completion = final.outputs[0]
        chosen = [lp[t].logprob for t, lp in zip(completion.token_ids, completion.logprobs or [])]
        return prompt_dict["prompt"], list(final.prompt_token_ids), list(completion.token_ids), chosen

    return host.run_coroutine(go()).result(180)


def first_difference(a: list[int], b: list[int]) -> int | None:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)


def test_greedy_answers_match_the_transformers_goldens(engine, results_dir):
    layout, host, recorder, start = engine
    assert host.state == "ready", recorder.events[-1]
    rows = []
    for gold in GOLDENS["prompts"]:
        text, end = through_app(host, recorder, gold["prompt"])
        prompt_text, prompt_ids, tokens, chosen = through_vllm(host, gold["prompt"])
        assert prompt_text == gold["prompt_text"] and prompt_ids == gold["prompt_ids"]
        golden_chosen = [row[0] for row in gold["top_logprobs"]]
        margins = [row[0] - row[1] for row in gold["top_logprobs"]]
        diff = first_difference(tokens, gold["tokens"])
        same = len(tokens) if diff is None else diff
        dlp = [abs(a - b) for a, b in zip(chosen[:same], golden_chosen[:same])]
        rows.append({"prompt": gold["prompt"], "identical_tokens": same, "of": len(gold["tokens"]),
                     "app_text_identical": text == gold["text"], "first_diff_golden_margin":
                         None if diff is None else round(margins[diff], 4),
                     "max_dlogprob": round(max(dlp), 4) if dlp else None,
                     "mtp_drafted": end.mtp_drafted, "mtp_accepted": end.mtp_accepted, "tok_s": round(end.tokens_per_s, 1)})
        assert len(tokens) == len(gold["tokens"]) and chosen, rows[-1]
        if layout == "bf16":
            assert tokens == gold["tokens"], rows[-1]
            assert text == gold["text"], rows[-1]
            assert max(dlp) <= BF16_DLOGPROB, rows[-1]
        else:
            assert diff is None or margins[diff] < FP8_MARGIN, rows[-1]
            assert max(dlp) <= FP8_DLOGPROB, rows[-1]
    drafted = sum(r["mtp_drafted"] or 0 for r in rows)
    accepted = sum(r["mtp_accepted"] or 0 for r in rows)
    record(results_dir, f"trained_{layout}", {**start, "mem_after_mib": gpu_memory_used_mib(), "prompts": rows,
                                              "mtp1_acceptance": round(accepted / drafted, 4) if drafted else None})
    assert drafted and accepted / drafted >= 0.5, "trained MTP drafts are hardly accepted"
