"""Costs before decoding, and whole-prompt counts with the model's tokenizer."""

from __future__ import annotations

import pytest

from mimo_desktop.media.config import default_config
from mimo_desktop.media.costs import count_text_tokens, estimate, prompt_token_count
from mimo_desktop.media.preparation import prepare

SAME_AS_PREPARE = ["photo.jpg", "rotated_exif6.jpg", "gray16.png", "anim.gif", "clip.mp4", "rotated.mp4",
                   "clip.webm", "clip.avi", "silent.mkv", "long.mp4", "tone16k.wav", "stereo48k.wav", "tone.flac"]


@pytest.mark.parametrize("name", SAME_AS_PREPARE)
def test_header_estimate_equals_the_decoded_cost(media_files, tiny_config, name):
    cost, item = estimate(media_files[name], tiny_config), prepare(media_files[name], tiny_config)
    assert (cost.kind, cost.tokens, cost.resized) == (item.kind, item.tokens, item.resized)
    assert cost.audio_track_tokens == (item.audio_track.tokens if item.audio_track else 0)
    assert cost.total_tokens == item.total_tokens and cost.exact and not cost.estimate


def test_compressed_audio_estimates_are_close_and_say_so(media_files):
    for name in ["tone.mp3", "tone.m4a", "tone.opus.ogg"]:
        cost, item = estimate(media_files[name]), prepare(media_files[name])
        assert not cost.exact and cost.estimate
        assert abs(cost.tokens - item.tokens) <= 1


def test_prompt_count_adds_items_to_the_text(media_files, tiny_config):
    items = [prepare(media_files[n], tiny_config) for n in ("photo.jpg", "clip.mp4", "tone.flac")]
    prompt = "<|im_start|>user\n" + "".join(i.placeholder for i in items) + "What is this?<|im_end|>\n"
    text_only = count_text_tokens(prompt, tiny_config)
    # each placeholder is three special tokens in the text; the item's own count replaces them
    assert prompt_token_count(prompt, items, tiny_config) == text_only + sum(i.tokens - 3 for i in items)
    assert count_text_tokens("<|im_start|>", tiny_config) == 1


def test_without_a_tokenizer_text_is_estimated():
    cfg = default_config()
    assert cfg.estimate and count_text_tokens("12:34", cfg) == 5  # digits and colon, one token each
    assert 3 <= count_text_tokens("Describe this picture.", cfg) <= 8
