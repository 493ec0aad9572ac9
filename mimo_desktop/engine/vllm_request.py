"""Turn a GenerationRequest into what vLLM's AsyncLLM.generate takes.

Pure functions: prompt text from the tokenizer's chat template (each
attachment written as its placeholder, which vLLM's MiMo processor expands to
the item's tokens), ``multi_modal_data`` in attachment order, and
SamplingParams with the model's effective defaults under the user's choices.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from mimo_desktop.engine.types import GenerationRequest, InvalidRequest, SamplingSettings


class ChatTemplater(Protocol):
    def apply_chat_template(self, conversation: list[dict[str, Any]], **kwargs: Any) -> Any: ...


def build_messages(request: GenerationRequest) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    if request.system_prompt:
        messages.append({"role": "system", "content": request.system_prompt})
    for turn in request.turns:
        placeholders = "".join(item.placeholder for item in _sent_items(turn))
        message = {"role": turn.role, "content": placeholders + turn.text}
        if turn.role == "assistant" and turn.reasoning:
            # Qwen3-style templates (MiMo's) read it; each template decides which turns keep it.
            message["reasoning_content"] = turn.reasoning
        messages.append(message)
    return messages


def thinking_kwargs(request: GenerationRequest) -> dict[str, Any]:
    thinking = request.sampling.thinking
    return {} if thinking is None else {"enable_thinking": thinking}


def starts_in_reasoning(prompt_text: str) -> bool:
    """The template opened the thinking block itself: the answer streams from inside it."""
    tail = prompt_text.rstrip()
    return tail.endswith("<think>")


def template_has_thinking_switch(tokenizer: Any) -> bool:
    template = getattr(tokenizer, "chat_template", None) or ""
    return isinstance(template, str) and "enable_thinking" in template


def _items_by_kind(request: GenerationRequest) -> dict[str, list[Any]]:
    """Sent items per modality in prompt order: vLLM matches the n-th placeholder to the n-th item."""
    items: dict[str, list[Any]] = {}
    for turn in request.turns:
        for item in _sent_items(turn):
            items.setdefault(item.kind, []).append(item)
    return items


def build_multi_modal_data(request: GenerationRequest) -> dict[str, list[Any]]:
    """Items per modality in prompt order: vLLM matches the n-th placeholder to the n-th item."""
    return {kind: [item.vllm_data for item in items] for kind, items in _items_by_kind(request).items()}


def build_multi_modal_uuids(request: GenerationRequest) -> dict[str, list[str | None]]:
    """vLLM's ids for the items of ``build_multi_modal_data``: content hash + processor settings where the
    preparation knows them (vLLM then neither hashes the pixels again on every turn nor copies memory-mapped
    frames to do it: 1.58 GB for ten minutes of 1080p), None where it does not (vLLM hashes those)."""
    return {kind: [f"mimo-{kind}-{item.sha256}-{item.settings}" if item.sha256 and item.settings else None
                   for item in items]
            for kind, items in _items_by_kind(request).items()}


def without_video_sound(request: GenerationRequest) -> GenerationRequest:
    """The request with videos' sound tracks left out: for a model that takes no audio, a clip with
    sound is still a clip (its pictures), not an error."""
    turns = tuple(
        dataclasses.replace(turn, attachments=tuple(
            dataclasses.replace(item, audio_track=None) if item.audio_track is not None else item
            for item in turn.attachments))
        for turn in request.turns)
    return dataclasses.replace(request, turns=turns)


def _sent_items(turn: Any) -> list[Any]:
    """Each attachment and, for a video with sound, its audio track right after it."""
    return [part for item in turn.attachments for part in item.items()]


def check_media_limits(request: GenerationRequest, limits: dict[str, int]) -> None:
    for kind, items in build_multi_modal_data(request).items():
        allowed = limits.get(kind, 0)
        if len(items) > allowed:
            what = "this model cannot take" if allowed == 0 else f"the engine takes at most {allowed}"
            raise InvalidRequest(
                f"The conversation has {len(items)} {kind} attachment(s); {what} {kind} per prompt. "
                "Remove some, or raise the per-prompt limit in the engine settings.")


def build_prompt(request: GenerationRequest, tokenizer: ChatTemplater,
                 template_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The prompt dict for AsyncLLM.generate: {"prompt": text, "multi_modal_data": {...}}."""
    kwargs = {**thinking_kwargs(request), **(template_kwargs or {})}
    text = tokenizer.apply_chat_template(
        build_messages(request), tokenize=False, add_generation_prompt=True, **kwargs)
    if not isinstance(text, str):
        raise InvalidRequest("The tokenizer's chat template did not produce text.")
    prompt: dict[str, Any] = {"prompt": text}
    media = build_multi_modal_data(request)
    if media:
        prompt["multi_modal_data"] = media
        uuids = build_multi_modal_uuids(request)
        if any(u is not None for ids in uuids.values() for u in ids):
            prompt["multi_modal_uuids"] = uuids
    return prompt


def sampling_values(settings: SamplingSettings, defaults: dict[str, Any]) -> dict[str, Any]:
    """The effective sampling values: the user's choices over the model's defaults."""
    values = {k: v for k, v in defaults.items() if k != "max_tokens"}
    chosen = {
        "temperature": settings.temperature, "top_p": settings.top_p, "top_k": settings.top_k,
        "repetition_penalty": settings.repetition_penalty, "seed": settings.seed,
    }
    values.update({k: v for k, v in chosen.items() if v is not None})
    values["max_tokens"] = settings.max_tokens
    values["ignore_eos"] = settings.ignore_eos
    return values


def build_sampling_params(settings: SamplingSettings, defaults: dict[str, Any]) -> Any:
    """vLLM SamplingParams streaming deltas (imports vLLM)."""
    from vllm.exceptions import VLLMClientError
    from vllm.sampling_params import RequestOutputKind, SamplingParams

    try:
        return SamplingParams(output_kind=RequestOutputKind.DELTA, **sampling_values(settings, defaults))
    except (ValueError, TypeError, VLLMClientError) as exc:  # 0.33's VLLMValidationError is no ValueError
        raise InvalidRequest(f"Invalid sampling settings: {exc}") from exc
