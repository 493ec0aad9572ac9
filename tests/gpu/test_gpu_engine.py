"""The embedded engine on real GPUs through EngineHost: tiny MiMo-V2.5 Omni with dummy
weights, TP over every GPU, MTP on. Text, image, video (frames + timestamps), audio
(with MIMO_GPU_AUDIO=1 and the FA2 bundle), abort, statistics, a killed worker,
restart, shutdown. Run: bash scripts/gpu_run.sh (on the device machine)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from engine_events import Recorder
from gpu_helpers import (
    cuda_gpu_count,
    descendants,
    gpu_workers,
    media_layer_video_count,
    random_image,
    random_video,
    record,
    start_engine,
    tone,
    video_timestamp_texts,
)

from mimo_desktop.engine import (
    EngineHost,
    Failed,
    Finished,
    GenerationRequest,
    SamplingSettings,
    TextDelta,
    Turn,
)
from mimo_desktop.media import prompt_token_count
from mimo_desktop.media.prepared import PreparedMedia

START_TIMEOUT = 400.0
MTP_TOKENS = int(os.environ.get("MIMO_GPU_MTP", "1"))


def attach(kind: str, data) -> PreparedMedia:
    return PreparedMedia(kind=kind, tokens=0, vllm_data=data, openai_part={})


def request(text: str, max_tokens: int = 32, attachments=(), ignore_eos: bool = True) -> GenerationRequest:
    return GenerationRequest((Turn("user", text, tuple(attachments)),),
                             SamplingSettings(max_tokens=max_tokens, temperature=0.0, ignore_eos=ignore_eos))


@pytest.fixture(scope="module")
def engine(tiny_omni):
    from mimo_desktop.engine.vllm_settings import VllmSettings

    settings = VllmSettings(model_dir=tiny_omni, load_format="dummy", enforce_eager=True, mtp=True,
                            mtp_tokens=MTP_TOKENS, max_context=4096,
                            gpu_memory_fraction=float(os.environ.get("MIMO_GPU_MEM", "0.25")))
    host, recorder, ready_s = start_engine(settings, START_TIMEOUT)
    yield host, recorder, ready_s
    host.shutdown(timeout_s=120)


def run(host: EngineHost, recorder: Recorder, req: GenerationRequest, timeout: float = 120) -> Finished | Failed:
    host.submit(req)
    return recorder.wait_end(req.request_id, timeout=timeout)


def test_engine_starts_with_tp_over_every_gpu(engine, results_dir):
    host, recorder, ready_s = engine
    assert host.state == "ready", recorder.events[-1]
    info = host.info
    gpus = cuda_gpu_count()
    assert (info.gpus, info.tensor_parallel, info.mtp_tokens) == (gpus, gpus, MTP_TOKENS)
    assert {"image", "video"} <= set(info.modalities)
    record(results_dir, "engine_ready", {"ready_s": round(ready_s, 1), "gpus": gpus, "tp": info.tensor_parallel,
                                         "mtp": info.mtp_tokens, "modalities": info.modalities,
                                         "notes": info.notes, "sampling_defaults": info.sampling_defaults})


def test_text_streams_with_mtp(engine, results_dir):
    host, recorder, _ = engine
    run(host, recorder, request("Warm up.", 8))
    req = request("The quick brown fox jumps over the lazy dog.", max_tokens=256)
    end = run(host, recorder, req)
    assert isinstance(end, Finished), end
    deltas = [e for e in recorder.for_request(req.request_id) if isinstance(e, TextDelta)]
    assert end.output_tokens == 256 == sum(d.token_count for d in deltas)
    assert end.reason == "length" and end.prompt_tokens > 5
    assert end.mtp_drafted and end.mtp_drafted > 0, "MTP drafted nothing: speculation is not running"
    record(results_dir, "text_256", {"ttft_ms": round(end.ttft_s * 1000, 1), "tok_s": round(end.tokens_per_s, 1),
                                     "deltas": len(deltas), "mtp_drafted": end.mtp_drafted,
                                     "mtp_accepted": end.mtp_accepted, "prompt_tokens": end.prompt_tokens})


def test_image(engine, results_dir):
    host, recorder, _ = engine
    end = run(host, recorder, request("Describe the image.", attachments=[attach("image", random_image())]))
    assert isinstance(end, Finished), end
    assert end.prompt_tokens > 100 and end.output_tokens == 32
    record(results_dir, "image_640x480", {"prompt_tokens": end.prompt_tokens, "output_tokens": end.output_tokens,
                                          "ttft_ms": round(end.ttft_s * 1000, 1)})


def test_video_as_frames_and_timestamps(engine, results_dir):
    host, recorder, _ = engine
    end = run(host, recorder, request("What is in this video?", attachments=[attach("video", random_video())]))
    assert isinstance(end, Finished), end
    assert end.prompt_tokens > 100 and end.output_tokens == 32
    record(results_dir, "video_8x320x240", {"prompt_tokens": end.prompt_tokens,
                                            "ttft_ms": round(end.ttft_s * 1000, 1)})


def test_video_keeps_its_real_timestamps_in_the_engine(engine, tiny_omni, results_dir):
    """8 frames 0.5 s apart through the real AsyncLLM: vLLM's prompt holds their real times
    (the tiny config groups temporal_patch_size=2 frames, so one MM:SS per 1.0 s), not the
    1-fps numbering unpatched vLLM writes (00:00, 00:02, 00:04, 00:06), and as many tokens as
    the media layer counts for the same item."""
    host, _, _ = engine
    frames, times = random_video(frames=8, width=320, height=240, fps=2.0)  # 0.0, 0.5, ..., 3.5 s
    cfg, video_tokens, expected_texts = media_layer_video_count(tiny_omni, frames, times)
    assert expected_texts == ["00:00", "00:01", "00:02", "00:03"]
    item = PreparedMedia(kind="video", tokens=video_tokens, vllm_data=(frames, times), openai_part={})
    req = request("What is in this video?", max_tokens=4, attachments=[item])

    async def prompt_vllm_used():
        engine_ = host.engine
        prompt, params = engine_.prompt_and_params(req)
        outputs = [out async for out in engine_.async_llm.generate(prompt, params, req.request_id)]
        assert outputs[-1].finished
        ids = list(outputs[0].prompt_token_ids)
        return prompt["prompt"], ids, engine_.async_llm.get_tokenizer().decode(ids)

    prompt_text, ids, decoded = host.run_coroutine(prompt_vllm_used()).result(120)
    written = video_timestamp_texts(decoded)
    expected_count = prompt_token_count(prompt_text, [item], cfg)
    record(results_dir, "video_timestamps_kept", {"timestamps_written": written, "prompt_tokens": len(ids),
                                                  "media_layer_prompt_tokens": expected_count,
                                                  "media_layer_video_tokens": video_tokens})
    assert written == expected_texts
    assert len(ids) == expected_count


def test_profiling_dummy_video_still_parses_where_the_patch_is_active(engine):
    """vLLM's dummy videos are bare frames (no timestamps): the patched parser must take them,
    or an engine whose profiling runs in this process (in-process core, forked workers) fails."""
    from vllm.multimodal import MULTIMODAL_REGISTRY

    host, _, _ = engine
    model_config = host.engine.async_llm.model_config
    # vLLM 0.33: the registry builds the processor, the processor builds the profiling inputs
    processor = MULTIMODAL_REGISTRY.create_processor(model_config)
    dummy = processor.get_dummy_mm_inputs({"video": 1})
    assert dummy["mm_placeholders"]["video"]


def test_audio(engine, results_dir):
    host, recorder, _ = engine
    if "audio" not in host.info.modalities:
        pytest.skip("tiny model built without audio (MIMO_GPU_AUDIO=1 needs the FA2 bundle)")
    end = run(host, recorder, request("Transcribe the audio.", attachments=[attach("audio", tone())]))
    assert isinstance(end, Finished), end
    record(results_dir, "audio_3s", {"prompt_tokens": end.prompt_tokens})


def test_two_requests_at_once(engine):
    host, recorder, _ = engine
    a = request("First question.", 64)
    b = request("Second, with an image.", 64, [attach("image", random_image(seed=2))])
    host.submit(a)
    host.submit(b)
    for req in (a, b):
        end = recorder.wait_end(req.request_id, timeout=60)
        assert isinstance(end, Finished) and end.output_tokens == 64


def test_abort_mid_stream_and_engine_keeps_serving(engine, results_dir):
    host, recorder, _ = engine
    req = request("Count forever.", max_tokens=3000)
    host.submit(req)
    recorder.wait_for(lambda evs: sum(e.token_count for e in evs if isinstance(e, TextDelta)
                                      and e.request_id == req.request_id) >= 20, timeout=60)
    t0 = time.monotonic()
    host.cancel(req.request_id)
    end = recorder.wait_end(req.request_id, timeout=60)
    abort_s = time.monotonic() - t0
    assert isinstance(end, Finished) and end.reason == "cancelled" and 20 <= end.output_tokens < 3000
    after = run(host, recorder, request("Still there?", 16))
    assert isinstance(after, Finished) and after.output_tokens == 16
    record(results_dir, "abort", {"after_tokens": end.output_tokens, "cancel_to_end_ms": round(abort_s * 1000, 1)})


def test_live_statistics(engine, results_dir):
    host, recorder, _ = engine
    run(host, recorder, request("One more for the statistics.", 128))
    stats = host.last_stats
    assert stats is not None and stats.mtp_drafted > 0 and stats.kv_cache_usage is not None
    record(results_dir, "live_stats", vars(stats))


def test_invalid_request_is_a_clear_failure(engine):
    host, recorder, _ = engine
    too_many = [attach("video", random_video(frames=4)) for _ in range(2)]  # limit: 1 video per prompt
    end = run(host, recorder, request("Two videos.", attachments=too_many))
    assert isinstance(end, Failed) and end.engine_alive and "at most 1 video" in end.message
    long_prompt = request("fox " * 5000, 8)  # longer than max_model_len 4096
    end = run(host, recorder, long_prompt)
    assert isinstance(end, Failed) and end.engine_alive, end
    assert host.state == "ready"


def test_killed_worker_fails_the_request_then_restart_works(engine, results_dir):
    host, recorder, _ = engine
    workers = gpu_workers()
    assert workers, f"no vLLM worker process found among {descendants()}"
    req = request("Keep going.", max_tokens=3000)
    host.submit(req)
    recorder.wait_for(lambda evs: any(isinstance(e, TextDelta) and e.request_id == req.request_id
                                      for e in evs), timeout=60)
    t0 = time.monotonic()
    os.kill(workers[-1][0], signal.SIGKILL)
    end = recorder.wait_end(req.request_id, timeout=120)
    failed_s = time.monotonic() - t0
    assert isinstance(end, Failed) and not end.engine_alive, end
    recorder.wait_for(lambda evs: host.state == "dead", timeout=120)
    t1 = time.monotonic()
    host.restart()
    recorder.wait_for(lambda evs: host.state == "ready", timeout=START_TIMEOUT)
    restart_s = time.monotonic() - t1
    after = run(host, recorder, request("Back again?", 16))
    assert isinstance(after, Finished) and after.output_tokens == 16
    record(results_dir, "worker_killed", {"killed": workers[-1][1][:60], "failed_after_s": round(failed_s, 2),
                                          "message": end.message, "restart_ready_s": round(restart_s, 1)})


def test_worker_killed_while_idle_is_noticed(engine, results_dir):
    host, recorder, _ = engine
    if host.state != "ready":
        pytest.skip("the engine is not ready")
    workers = gpu_workers()
    assert workers, f"no vLLM worker process found among {descendants()}"
    t0 = time.monotonic()
    os.kill(workers[0][0], signal.SIGKILL)
    recorder.wait_for(lambda evs: host.state == "dead", timeout=120)  # no request in flight
    record(results_dir, "worker_killed_idle", {"killed": workers[0][1][:60],
                                               "dead_after_s": round(time.monotonic() - t0, 2)})


def test_shutdown_ends_thread_and_gpu_processes(engine, results_dir):
    host, recorder, _ = engine
    t0 = time.monotonic()
    assert host.shutdown(timeout_s=120)
    took = time.monotonic() - t0
    assert not host.thread.is_alive()
    deadline = time.monotonic() + 30
    while descendants() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [cmd for _, cmd, _ in descendants() if "VLLM" in cmd or "vllm" in cmd], descendants()
    record(results_dir, "shutdown", {"shutdown_s": round(took, 2)})
