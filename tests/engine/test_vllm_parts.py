"""The embedded engine's pure parts against the real vLLM 0.33.0 classes, on CPU:
request building, sampling params, engine args, stat logger, outputs, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_events import ask
from PIL import Image
from tiny_mimo import main as write_tiny_mimo

from mimo_desktop.engine import (
    EngineDied,
    EngineHost,
    GenerationRequest,
    InvalidRequest,
    RequestFailed,
    SamplingSettings,
    Turn,
)
from mimo_desktop.engine.vllm_engine import OutputTracker, VllmEngine
from mimo_desktop.engine.vllm_errors import VLLM_MISSING, generate_failure, start_failure
from mimo_desktop.engine.vllm_request import (
    build_multi_modal_data,
    build_prompt,
    build_sampling_params,
    check_media_limits,
)
from mimo_desktop.engine.vllm_settings import (
    SettingsError,
    VllmSettings,
    effective_sampling_defaults,
    engine_args_kwargs,
    inspect_model_folder,
    make_engine_args,
    resolve_tensor_parallel,
)
from mimo_desktop.media.prepared import PLACEHOLDERS, PreparedMedia

vllm = pytest.importorskip("vllm")
pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def omni_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny-mimo-omni"
    write_tiny_mimo(str(path), omni=True, audio=True)
    # MiMo's own generation_config.json sets sampling defaults; the tiny one gets the same keys
    gen = json.loads((path / "generation_config.json").read_text())
    gen.update(temperature=0.6, top_p=0.95, top_k=20)
    (path / "generation_config.json").write_text(json.dumps(gen))
    return path


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny-mimo-text"
    write_tiny_mimo(str(path))
    return path


@pytest.fixture(scope="module")
def tokenizer(omni_dir):
    from vllm.tokenizers import get_tokenizer

    return get_tokenizer(str(omni_dir), trust_remote_code=True)


def media(kind: str, data) -> PreparedMedia:
    return PreparedMedia(kind=kind, tokens=3, vllm_data=data, openai_part={"type": kind})


def omni_request() -> tuple[GenerationRequest, list]:
    image = Image.new("RGB", (56, 56), (10, 200, 10))
    video = (torch.zeros(4, 3, 56, 56, dtype=torch.uint8), torch.tensor([0.0, 0.5, 1.0, 1.5]))
    audio = (np.zeros(24000, dtype=np.float32), 24000)
    turns = (
        Turn("user", "What is this?", (media("image", image),)),
        Turn("assistant", "A green square."),
        Turn("user", "And these?", (media("video", video), media("audio", audio))),
    )
    return GenerationRequest(turns, system_prompt="Be brief."), [image, video, audio]


def test_prompt_uses_the_chat_template_with_placeholders(tokenizer):
    request, (image, video, audio) = omni_request()
    prompt = build_prompt(request, tokenizer)
    assert prompt["prompt"] == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        f"<|im_start|>user\n{PLACEHOLDERS['image']}What is this?<|im_end|>\n"
        "<|im_start|>assistant\nA green square.<|im_end|>\n"
        f"<|im_start|>user\n{PLACEHOLDERS['video']}{PLACEHOLDERS['audio']}And these?<|im_end|>\n"
        "<|im_start|>assistant\n")
    mm = prompt["multi_modal_data"]
    assert mm["image"] == [image] and mm["video"] == [video] and mm["audio"] == [audio]
    # each placeholder is a single special token, as vLLM's MiMo processor expects
    for text in PLACEHOLDERS.values():
        assert len(tokenizer.encode(text, add_special_tokens=False)) == 3


def test_text_only_prompt_has_no_media_key(tokenizer):
    prompt = build_prompt(ask("Hello"), tokenizer)
    assert set(prompt) == {"prompt"}
    assert prompt["prompt"].endswith("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n")


def test_multi_modal_data_keeps_attachment_order():
    a, b = media("image", "first"), media("image", "second")
    request = GenerationRequest((Turn("user", "x", (a,)), Turn("assistant", "y"), Turn("user", "z", (b,))))
    assert build_multi_modal_data(request) == {"image": ["first", "second"]}


def test_prepared_media_reach_vllm_with_their_content_ids_so_it_does_not_hash_the_frames_again(tokenizer):
    from dataclasses import replace

    request, _ = omni_request()
    first, middle, last = request.turns
    clip = replace(last.attachments[0], sha256="ab" * 32, settings="s1")
    turns = (first, middle, replace(last, attachments=(clip, last.attachments[1])))
    prompt = build_prompt(replace(request, turns=turns), tokenizer)
    # one id per item, in the data's order; None (vLLM hashes it) where the content hash is not known
    assert prompt["multi_modal_uuids"] == {"image": [None], "video": [f"mimo-video-{'ab' * 32}-s1"], "audio": [None]}
    assert {k: len(v) for k, v in prompt["multi_modal_uuids"].items()} == {
        k: len(v) for k, v in prompt["multi_modal_data"].items()}
    assert "multi_modal_uuids" not in build_prompt(request, tokenizer)  # none known: vLLM's own hashing


def test_media_over_the_limit_is_refused_clearly():
    request, _ = omni_request()
    with pytest.raises(InvalidRequest, match="1 audio attachment.*this model cannot take audio"):
        check_media_limits(request, {"image": 4, "video": 1})
    check_media_limits(request, {"image": 1, "video": 1, "audio": 1})


def test_sampling_params_take_model_defaults_under_user_choices(omni_dir):
    from vllm.sampling_params import RequestOutputKind

    folder = inspect_model_folder(omni_dir, load_format="dummy")
    defaults = effective_sampling_defaults(folder.generation_config)
    assert defaults == {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "min_p": 0.0, "repetition_penalty": 1.0}
    params = build_sampling_params(SamplingSettings(max_tokens=77, temperature=0.1, seed=3), defaults)
    assert params.output_kind == RequestOutputKind.DELTA
    assert (params.temperature, params.top_p, params.top_k, params.max_tokens, params.seed) == (0.1, 0.95, 20, 77, 3)


def test_bad_sampling_values_become_invalid_request():
    with pytest.raises(InvalidRequest, match="Invalid sampling settings"):
        build_sampling_params(SamplingSettings(top_k=-5), {})


def test_vllm_gets_the_model_as_an_absolute_local_folder(omni_dir, monkeypatch):
    # vLLM finds MiMo's audio tokenizer by joining "audio_tokenizer" to this path, in its own processes
    monkeypatch.chdir(omni_dir.parent)
    folder = inspect_model_folder(Path(omni_dir.name), "dummy")
    kwargs = engine_args_kwargs(VllmSettings(model_dir=Path(omni_dir.name), load_format="dummy"), folder, 1)
    assert kwargs["model"] == str(omni_dir.resolve()) and Path(kwargs["model"]).is_absolute()
    assert "audio" in folder.modalities
    with pytest.raises(SettingsError, match="XiaomiMiMo/MiMo-V2.5 does not exist. Download the model first"):
        inspect_model_folder(Path("XiaomiMiMo/MiMo-V2.5"))  # a hub id is not a folder


def test_engine_args_for_omni_with_mtp(omni_dir):
    settings = VllmSettings(model_dir=omni_dir, mtp_tokens=3, load_format="dummy", enforce_eager=True,
                            max_context=8192, gpu_memory_fraction=0.5)
    folder = inspect_model_folder(omni_dir, settings.load_format)
    assert folder.modalities == ("text", "image", "video", "audio") and folder.notes == ()
    kwargs = engine_args_kwargs(settings, folder, tensor_parallel=2)
    args = make_engine_args(kwargs)
    assert args.model == str(omni_dir) and args.tensor_parallel_size == 2
    assert args.distributed_executor_backend == "mp" and args.load_format == "dummy"
    assert args.max_model_len == 4096  # capped by the model's max_position_embeddings
    assert args.attention_backend == "TRITON_ATTN_DIFFKV" and args.mm_encoder_attn_backend == "TORCH_SDPA"
    assert args.speculative_config == {"method": "mtp", "num_speculative_tokens": 3,
                                       "attention_backend": "TRITON_ATTN_DIFFKV"}
    assert args.limit_mm_per_prompt == {"image": 4, "video": 1, "audio": 2}
    assert args.gpu_memory_utilization == 0.5 and args.enforce_eager and args.trust_remote_code


def test_engine_args_for_text_model_without_mtp(text_dir):
    settings = VllmSettings(model_dir=text_dir, mtp=False, executor_backend="ray", pipeline_parallel=2,
                            attention_backend=None, load_format="dummy")
    kwargs = engine_args_kwargs(settings, inspect_model_folder(text_dir, "dummy"), 4)
    assert "speculative_config" not in kwargs and "limit_mm_per_prompt" not in kwargs
    assert "attention_backend" not in kwargs
    args = make_engine_args(kwargs)
    assert (args.distributed_executor_backend, args.pipeline_parallel_size) == ("ray", 2)


def test_model_folder_problems_are_named(tmp_path, omni_dir):
    with pytest.raises(SettingsError, match="does not exist"):
        inspect_model_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SettingsError, match="no config.json"):
        inspect_model_folder(tmp_path / "empty")
    with pytest.raises(SettingsError, match="no weights"):
        inspect_model_folder(omni_dir, load_format="auto")
    (omni_dir / "audio_tokenizer" / "model.safetensors").rename(omni_dir / "audio_tokenizer" / "moved")
    try:
        folder = inspect_model_folder(omni_dir, "dummy")
    finally:
        (omni_dir / "audio_tokenizer" / "moved").rename(omni_dir / "audio_tokenizer" / "model.safetensors")
    assert "audio" not in folder.modalities
    assert folder.notes == (f"Audio is unavailable: {omni_dir / 'audio_tokenizer'} (config.json + weights) "
                            "is missing.",)


@pytest.mark.parametrize("tp, pp, gpus, expected", [(None, 1, 4, 4), (None, 2, 4, 2), (2, 1, 4, 2), (None, 1, 1, 1),
                                                    (None, 1, 6, 4), (None, 1, 3, 2), (None, 1, 8, 8),
                                                    (None, 2, 6, 2), (3, 1, 4, 3)])
def test_tensor_parallel_defaults_to_every_gpu_in_a_power_of_two(tmp_path, tp, pp, gpus, expected):
    settings = VllmSettings(model_dir=tmp_path, tensor_parallel=tp, pipeline_parallel=pp)
    assert resolve_tensor_parallel(settings, gpus) == expected


def test_tensor_parallel_errors(tmp_path):
    with pytest.raises(SettingsError, match="No CUDA GPU is visible"):
        resolve_tensor_parallel(VllmSettings(model_dir=tmp_path), 0)
    with pytest.raises(SettingsError, match="needs 8 GPUs, but 2 are visible"):
        resolve_tensor_parallel(VllmSettings(model_dir=tmp_path, tensor_parallel=8), 2)
    with pytest.raises(SettingsError, match="MTP speculative tokens must be 1, 2 or 3"):
        VllmSettings(model_dir=tmp_path, mtp_tokens=4)


def test_stat_logger_reports_mtp_acceptance_throughput_and_kv_use():
    from vllm.v1.metrics.stats import IterationStats, SchedulerStats
    from vllm.v1.spec_decode.metrics import SpecDecodingStats

    from mimo_desktop.engine.vllm_stats import StatsAccumulator, stat_logger_factory

    now = [100.0]
    sink: list = []
    acc = StatsAccumulator(interval_s=1.0, clock=lambda: now[0])
    stat_logger = stat_logger_factory(acc, sink.append)(None, 0)
    for accepted in (2, 1, 0, 3):  # four drafts of 3 tokens each: 6 of 12 accepted
        spec = SpecDecodingStats.new(3)
        spec.observe_draft(num_draft_tokens=3, num_accepted_tokens=accepted)
        iteration = IterationStats()
        iteration.num_generation_tokens = accepted + 1
        now[0] += 0.5
        stat_logger.record(SchedulerStats(num_running_reqs=1, kv_cache_usage=0.25, spec_decoding_stats=spec),
                           iteration)
    assert len(sink) == 2  # one snapshot per second of engine steps
    total = sink[-1]
    assert (acc.total.drafted, acc.total.accepted) == (12, 6)
    assert (total.mtp_drafted, total.mtp_accepted) == (12, 6)
    assert total.mtp_acceptance_rate == pytest.approx(3 / 6)  # last window: 0 + 3 of 6
    assert total.mtp_mean_acceptance_length == pytest.approx(1 + 3 / 2)
    assert total.generation_tokens_per_s == pytest.approx((1 + 4) / 1.0)
    assert (total.kv_cache_usage, total.running_requests) == (0.25, 1)


def test_output_tracker_reads_delta_request_outputs():
    from vllm.outputs import CompletionOutput, RequestOutput

    def out(text, ids, finished, reason=None):
        completion = CompletionOutput(index=0, text=text, token_ids=ids, cumulative_logprob=None,
                                      logprobs=None, finish_reason=reason)
        return RequestOutput(request_id="r", prompt="p", prompt_token_ids=[1, 2, 3], prompt_logprobs=None,
                             outputs=[completion], finished=finished)

    tracker = OutputTracker("r")
    deltas = [tracker.delta(out("Hel", [5, 6], False)), tracker.delta(out("", [], False)),
              tracker.delta(out("lo", [7], True, "length"))]
    assert [[(d.text, d.token_count) for d in ds] for ds in deltas] == [[("Hel", 2)], [], [("lo", 1)]]
    assert (tracker.prompt_tokens, tracker.output_tokens, tracker.finish_reason) == (3, 3, "length")


def test_output_tracker_splits_thinking_from_the_answer_across_deltas():
    from vllm.outputs import CompletionOutput, RequestOutput

    from mimo_desktop.engine.reasoning import ReasoningSplitter

    def out(text, n, finished=False):
        completion = CompletionOutput(index=0, text=text, token_ids=list(range(n)), cumulative_logprob=None,
                                      logprobs=None, finish_reason="stop" if finished else None)
        return RequestOutput(request_id="r", prompt="p", prompt_token_ids=[1], prompt_logprobs=None,
                             outputs=[completion], finished=finished)

    tracker = OutputTracker("r", splitter=ReasoningSplitter(start_in_reasoning=True))
    stream = [out("The photo shows", 3), out(" a 猫.</th", 4), out("ink>\n\nA cat", 3), out(".", 1, True)]
    deltas = [d for o in stream for d in tracker.delta(o)]
    thinking = "".join(d.text for d in deltas if d.reasoning)
    answer = "".join(d.text for d in deltas if not d.reasoning)
    assert (thinking, answer) == ("The photo shows a 猫.", "\n\nA cat.")
    assert sum(d.token_count for d in deltas) == tracker.output_tokens == 11


def test_thinking_history_and_switch_reach_the_chat_template():
    from mimo_desktop.engine.types import GenerationRequest, SamplingSettings, Turn
    from mimo_desktop.engine.vllm_request import build_messages, starts_in_reasoning, thinking_kwargs

    request = GenerationRequest(
        (Turn("user", "hi"), Turn("assistant", "Hello!", reasoning="Greet back."), Turn("user", "and?")),
        SamplingSettings(thinking=False))
    messages = build_messages(request)
    assert messages[1] == {"role": "assistant", "content": "Hello!", "reasoning_content": "Greet back."}
    assert "reasoning_content" not in messages[0] and "reasoning_content" not in messages[2]
    assert thinking_kwargs(request) == {"enable_thinking": False}
    assert thinking_kwargs(GenerationRequest((Turn("user", "x"),))) == {}
    assert starts_in_reasoning("<|im_start|>assistant\n<think>\n")
    assert not starts_in_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_vllm_exceptions_become_clear_errors():
    from vllm.exceptions import VLLMValidationError
    from vllm.v1.engine.exceptions import EngineDeadError, EngineGenerateError

    dead = generate_failure(EngineDeadError())
    assert isinstance(dead, EngineDied) and "Restart the engine" in str(dead)
    try:
        try:
            raise ValueError("Please install vllm[audio] for audio support")
        except ValueError as cause:
            raise EngineGenerateError() from cause
    except EngineGenerateError as exc:
        failed = generate_failure(exc)
    assert type(failed) is RequestFailed
    assert str(failed) == ("The request failed in the engine: ValueError: "
                           "Please install vllm[audio] for audio support")
    # vLLM 0.33's input processor raises this (a VLLMClientError, not a ValueError), and generate() re-raises it
    too_long = generate_failure(VLLMValidationError(
        "The decoder prompt (length 9000) is longer than the maximum model length of 8192."))
    assert isinstance(too_long, InvalidRequest)
    assert str(too_long) == ("vLLM refused the request: The decoder prompt (length 9000) is longer than the "
                             "maximum model length of 8192.")
    oom = generate_failure(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert "ran out of memory" in str(oom)
    start = start_failure(RuntimeError("Engine core initialization failed. See root cause above."))
    assert str(start).startswith("The engine's GPU worker processes failed while starting.")
    assert "Out of GPU memory while starting" in str(start_failure(torch.OutOfMemoryError("CUDA out of memory")))


def test_embedded_engine_on_a_machine_without_gpu_says_so(omni_dir, recorder, no_thread_leaks):
    settings = VllmSettings(model_dir=omni_dir, load_format="dummy")
    host = EngineHost(lambda: VllmEngine(settings), recorder, tick_s=0.05)
    host.start()
    try:
        recorder.wait_state("dead", timeout=120)
        assert recorder.events[-1].message.startswith("No CUDA GPU is visible")
    finally:
        assert host.shutdown(timeout_s=10)


def test_missing_vllm_is_reported_not_raised(omni_dir, recorder, monkeypatch, no_thread_leaks):
    monkeypatch.setitem(sys.modules, "vllm.v1.engine.async_llm", None)  # import now fails
    host = EngineHost(lambda: VllmEngine(VllmSettings(model_dir=omni_dir, load_format="dummy")), recorder)
    host.start()
    recorder.wait_state("dead")
    assert recorder.events[-1].message.startswith(VLLM_MISSING)
    assert host.shutdown(timeout_s=10)


def test_health_check_reports_a_dead_engine(omni_dir):
    import asyncio

    from vllm.v1.engine.exceptions import EngineDeadError

    class DeadAsyncLLM:  # AsyncLLM cannot start without a GPU: only the two attributes read
        errored = True
        dead_error = EngineDeadError()

    engine = VllmEngine(VllmSettings(model_dir=omni_dir, load_format="dummy"))
    asyncio.run(engine.check_health())  # not started: nothing to report
    engine._llm = DeadAsyncLLM()
    with pytest.raises(EngineDied, match="a GPU worker process died"):
        asyncio.run(engine.check_health())


# A Qwen3-style thinking template (the shape MiMo-V2.5's uses): history keeps the last turn's thinking,
# `enable_thinking=False` writes an empty thinking block, otherwise the answer starts inside <think>.
THINKING_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['role'] == 'assistant' and m.get('reasoning_content') %}<think>\n{{ m['reasoning_content'] }}\n"
    "</think>\n\n{% endif %}{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking is defined and not enable_thinking %}"
    "<think>\n\n</think>\n\n{% else %}<think>\n{% endif %}{% endif %}"
)


def test_thinking_template_receives_history_thinking_and_the_switch(tokenizer):
    from mimo_desktop.engine.types import SamplingSettings
    from mimo_desktop.engine.vllm_request import starts_in_reasoning, template_has_thinking_switch

    original = tokenizer.chat_template
    tokenizer.chat_template = THINKING_TEMPLATE
    try:
        assert template_has_thinking_switch(tokenizer)
        turns = (Turn("user", "hi"), Turn("assistant", "Hello!", reasoning="Greet back."), Turn("user", "and?"))
        on = build_prompt(GenerationRequest(turns), tokenizer)["prompt"]
        assert "<|im_start|>assistant\n<think>\nGreet back.\n</think>\n\nHello!<|im_end|>" in on
        assert starts_in_reasoning(on)
        off = build_prompt(GenerationRequest(turns, SamplingSettings(thinking=False)), tokenizer)["prompt"]
        assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
        assert not starts_in_reasoning(off)
    finally:
        tokenizer.chat_template = original
    assert not template_has_thinking_switch(tokenizer)


def test_a_model_without_audio_gets_a_clip_without_its_sound():
    from dataclasses import replace

    from mimo_desktop.engine.vllm_request import without_video_sound

    sound = media("audio", "sound")
    clip = replace(media("video", "frames"), audio_track=sound)
    request = GenerationRequest((Turn("user", "x", (clip,)),))
    assert build_multi_modal_data(request) == {"video": ["frames"], "audio": ["sound"]}
    assert build_multi_modal_data(without_video_sound(request)) == {"video": ["frames"]}
    check_media_limits(without_video_sound(request), {"video": 1})  # no "cannot take audio" error
