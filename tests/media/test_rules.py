"""The processor arithmetic on its own, with values worked out by hand from the MiMo rules."""

from __future__ import annotations

import pytest

from mimo_desktop.media import plan, rules
from mimo_desktop.media.config import ProcessorConfig, default_config
from mimo_desktop.media.errors import EmptyMediaError, MediaTooLargeError, UnsupportedMediaError


def test_resize_keeps_sides_that_are_already_multiples():
    assert rules.smart_resize(480, 640, 32, 8192, 8388608) == (480, 640)


def test_resize_rounds_each_side_to_the_nearest_multiple():
    # 333/28 = 11.9 -> 12; 517/28 = 18.5 -> 18 (round half to even)
    assert rules.smart_resize(333, 517, 28, 3136, 10**9) == (336, 504)


def test_resize_shrinks_to_fit_the_pixel_budget_and_floors():
    # 1080×1920 into 200704 px: beta = sqrt(1080*1920/200704) = 3.214; 1080/3.214/28 = 12.0 -> 12, 21.3 -> 21
    assert rules.smart_resize(1080, 1920, 28, 3136, 200704) == (336, 588)


def test_resize_grows_tiny_pictures_to_the_minimum():
    # a 7×5 picture (h < 28) is first scaled to 28×39.2 -> 28×39, then rounded: 28×28 < 8192 -> grown
    h, w = rules.smart_resize(7, 5, 32, 8192, 8388608)
    assert (h, w) == (128, 96)
    assert h * w >= 8192


@pytest.mark.parametrize(("h", "w"), [(1, 5000), (5000, 1), (30, 6100)])
def test_pictures_beyond_200_to_1_are_refused_with_a_reason(h, w):
    with pytest.raises(UnsupportedMediaError, match="200:1"):
        rules.smart_resize(h, w, 32, 8192, 8388608)


def test_image_tokens_count_merged_patches_plus_start_and_end():
    # 480×640 with 16-px patches, 2×2 merge: 30*40/4 = 300 pads + 2
    assert rules.image_token_count((480, 640), 16, 2) == 302


def test_frame_count_follows_fps_then_clamps_and_rounds_to_pairs():
    kw = {"fps": 2.0, "num_frames": None, "min_frames": 8, "max_frames": 256}
    assert rules.sample_frame_count(300, 30.0, 2, **kw) == 20  # 10 s at 2 fps
    assert rules.sample_frame_count(45, 30.0, 2, **kw) == 8  # 1.5 s: 3 frames, raised to min 8
    assert rules.sample_frame_count(5, 10.0, 2, **kw) == 6  # only 5 frames exist; padded to a pair
    assert rules.sample_frame_count(30 * 600, 30.0, 2, **kw) == 256  # 10 min: capped
    assert rules.sample_frame_count(300, 30.0, 2, fps=None, num_frames=7, min_frames=None, max_frames=None) == 8


def test_frame_indices_spread_evenly_from_the_first_frame():
    assert rules.sample_frame_indices(300, 4) == [0, 75, 150, 225]
    assert rules.sample_frame_indices(5, 6) == [0, 1, 2, 2, 3, 4]  # more picks than frames: repeats


def test_video_pixel_budget_is_shared_by_the_frames():
    # 512*784 px per video, counted per pair of frames: 16 frames -> 50176 each, under the 64*784 cap
    assert rules.video_max_pixels(16, 3136, 50176, 401408, 2) == 50176
    assert rules.video_max_pixels(64, 3136, 50176, 401408, 2) == 12544
    assert rules.video_max_pixels(10**6, 3136, 50176, 401408, 2) == 3136  # never under the minimum


def test_audio_token_formula():
    # 3 s at 24 kHz: 72000 // 240 + 1 = 301 mel frames -> conv 300 -> stride 150 -> pool 75 -> groups 19
    assert rules.mel_frame_count(72000, 240) == 301
    assert rules.audio_token_count_from_frames(301, 3, 2, 2, 4) == 19
    assert plan.audio_tokens(72000, default_config()) == 21  # with start and end tokens


def test_resampled_length_is_the_ceiling_of_the_exact_ratio():
    assert rules.resampled_length(44100, 44100, 24000) == 24000
    assert rules.resampled_length(44101, 44100, 24000) == 24001
    assert rules.resampled_length(1103, 11025, 24000) == 2402


def test_timestamps_format_minutes_and_seconds():
    assert [rules.format_timestamp(t) for t in (0, 59.99, 60, 754.5, 3600)] == ["00:00", "00:59", "01:00",
                                                                                 "12:34", "60:00"]


def test_video_plan_and_tokens_for_mimo_v25_defaults():
    cfg = default_config()
    video = plan.plan_video(1920, 1080, 300, 30.0, cfg)  # 10 s of 1080p at 30 fps
    assert video.num_frames == 10  # MiMo-V2.5 samples 1 fps
    assert video.resized == (1088, 1920)
    assert video.groups == 5 and video.tokens_per_group == 68 * 120 // 4
    tokens, texts = plan.video_tokens(video, None, cfg)
    assert texts == ["00:00", "00:02", "00:04", "00:06", "00:08"]  # vLLM numbers frames 1 s apart
    assert tokens == 2 + 1 + 5 * (2040 + 2) + 5 * 5 + 1


def test_real_timestamps_are_used_when_vllm_keeps_them():
    cfg = ProcessorConfig(vllm_keeps_video_timestamps=True, fps=2.0)
    video = plan.plan_video(320, 240, 900, 30.0, cfg)  # 30 s, 60 frames at 0.5 s
    _, texts = plan.video_tokens(video, [i * 0.5 for i in range(60)], cfg)
    assert texts[:3] == ["00:00", "00:01", "00:02"] and texts[-1] == "00:29"


def test_bad_videos_and_sounds_are_refused_in_words():
    cfg = default_config()
    with pytest.raises(EmptyMediaError, match="no frames"):
        plan.plan_video(320, 240, 0, 30.0, cfg)
    with pytest.raises(UnsupportedMediaError, match="frame rate"):
        plan.plan_video(320, 240, 10, 0.0, cfg)
    with pytest.raises(UnsupportedMediaError, match="too small"):
        plan.plan_video(4, 240, 10, 30.0, cfg)
    with pytest.raises(MediaTooLargeError, match="lasts"):
        plan.plan_video(320, 240, 30 * 3600 * 4, 30.0, cfg)
    with pytest.raises(EmptyMediaError, match="0.05 s"):
        plan.audio_tokens(1200, cfg)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(h=st.integers(1, 20000), w=st.integers(1, 20000), patch=st.sampled_from([14, 16]),
       budget=st.integers(256, 16384))
def test_resize_always_lands_on_the_grid_within_budget_or_refuses(h, w, patch, budget):
    factor = patch * 2
    min_px, max_px = 4 * factor * factor, budget * factor * factor
    try:
        rh, rw = rules.smart_resize(h, w, factor, min_px, max_px)
    except UnsupportedMediaError as exc:
        assert "200:1" in str(exc) or "too thin" in str(exc)
        return
    assert rh % factor == 0 and rw % factor == 0 and rh > 0 and rw > 0
    assert rh * rw <= max_px


@settings(max_examples=300, deadline=None)
@given(w=st.integers(8, 8000), h=st.integers(8, 8000), total=st.integers(2, 100000),
       frames=st.sampled_from([None, 64, 5000]))
def test_prescaled_video_frames_keep_their_size_in_vllm(w, h, total, frames):
    """When the plan says frames may be handed over pre-scaled, vLLM's rule leaves that size alone."""
    cfg = ProcessorConfig(patch_size=14, image_min_pixels=3136, video_min_pixels=3136, video_max_pixels=50176,
                          video_total_max_pixels=401408, num_frames=frames, max_frames=100000)
    try:
        video = plan.plan_video(w, h, total, 30.0, cfg)
    except (UnsupportedMediaError, MediaTooLargeError):
        return
    cap = rules.video_max_pixels(video.num_frames, 3136, 50176, 401408, 2)
    again = rules.smart_resize(*video.resized, cfg.factor, 3136, cap)
    assert video.prescale_safe == (again == video.resized)
    assert rules.smart_resize(h, w, cfg.factor, 3136, cap) == video.resized


@settings(max_examples=300, deadline=None)
@given(total=st.integers(1, 200000), fps=st.floats(1.0, 240.0), target=st.sampled_from([0.5, 1.0, 2.0]))
def test_sampled_frames_are_pairs_in_range_and_in_order(total, fps, target):
    n = rules.sample_frame_count(total, fps, 2, fps=target, num_frames=None, min_frames=8, max_frames=3600)
    indices = rules.sample_frame_indices(total, n)
    assert n % 2 == 0 and 2 <= n <= max(3600, 8)
    assert indices == sorted(indices) and indices[0] == 0 and indices[-1] <= total - 1


def test_importing_the_media_package_loads_no_heavy_library():
    """The GUI imports media's config and types at start-up: no torch, torchcodec, Pillow or vLLM then."""
    import subprocess
    import sys

    code = ("import sys, mimo_desktop.media, mimo_desktop.media.config, mimo_desktop.media.prepared\n"
            "heavy = [m for m in ('torch', 'torchcodec', 'torchaudio', 'PIL', 'vllm', 'numpy') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
