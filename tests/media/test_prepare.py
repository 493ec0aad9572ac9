"""prepare() on real files: what the user sees (kind, size, tokens) and what the engines receive."""

from __future__ import annotations

import base64
import io
import shutil
import wave

import numpy as np
import pytest
from PIL import Image

from mimo_desktop.media import rules
from mimo_desktop.media.config import default_config
from mimo_desktop.media.preparation import prepare
from mimo_desktop.media.prepared import PreparedMedia

IMAGES = ["photo.jpg", "rotated_exif6.jpg", "cmyk.jpg", "gray.png", "rgba.png", "palette.png", "gray16.png",
          "photo.webp", "anim.gif", "photo.bmp", "photo.tiff", "odd_97x131.png", "tiny_5x7.png"]
VIDEOS = ["clip.mp4", "silent.mkv", "clip.webm", "clip.avi", "clip.mov", "fast60.mp4", "blink.mp4", "long.mp4"]
SOUNDS = ["tone16k.wav", "stereo48k.wav", "tone.mp3", "tone.flac", "tone.opus.ogg", "tone.m4a", "voice.webm",
          "exact24k.wav"]


@pytest.mark.parametrize("name", IMAGES)
def test_every_picture_format_becomes_upright_rgb(media_files, name):
    item = prepare(media_files[name])
    assert item.kind == "image" and isinstance(item.vllm_data, Image.Image)
    assert item.vllm_data.mode == "RGB"
    assert item.estimate  # no model folder: built-in defaults
    assert item.openai_part["type"] == "image_url"
    assert item.openai_part["image_url"]["url"].startswith("data:image/")
    assert item.tokens == (item.resized[0] // 16) * (item.resized[1] // 16) // 4 + 2


def test_exif_orientation_turns_the_picture(media_files):
    plain, turned = prepare(media_files["photo.jpg"]), prepare(media_files["rotated_exif6.jpg"])
    assert plain.vllm_data.size == (640, 480) and turned.vllm_data.size == (480, 640)
    # orientation 6: the top-left yellow square ends up top-right
    top_right = np.asarray(turned.vllm_data)[10, -10]
    assert top_right[0] > 200 and top_right[1] > 200 and top_right[2] < 80
    assert turned.resized == (640, 480)
    # the server gets the turned picture too, not the raw JPEG it might not turn
    assert turned.openai_part["image_url"]["url"].startswith("data:image/png;base64,")


def test_transparency_lands_on_white_and_16_bit_keeps_its_range(media_files):
    rgba = np.asarray(prepare(media_files["rgba.png"]).vllm_data)
    assert (rgba[:, :100] == 255).all()  # the transparent left half
    deep = np.asarray(prepare(media_files["gray16.png"]).vllm_data)
    shallow = np.asarray(prepare(media_files["gray.png"]).vllm_data)
    assert np.abs(deep.astype(int) - shallow.astype(int)).max() <= 1


def test_gif_uses_its_first_frame(media_files):
    item = prepare(media_files["anim.gif"])
    first = Image.open(media_files["anim.gif"]).convert("RGB")
    assert np.array_equal(np.asarray(item.vllm_data), np.asarray(first))


def test_cmyk_colours_survive(media_files):
    cmyk = np.asarray(prepare(media_files["cmyk.jpg"]).vllm_data).astype(int)
    rgb = np.asarray(prepare(media_files["photo.jpg"]).vllm_data).astype(int)
    assert np.abs(cmyk - rgb).mean() < 12


@pytest.mark.parametrize("name", VIDEOS)
def test_videos_give_sampled_frames_with_their_times(media_files, tiny_config, name):
    item = prepare(media_files[name], tiny_config)
    frames, times = item.vllm_data
    assert item.kind == "video" and not item.estimate
    assert frames.dtype.__str__() == "torch.uint8" and frames.ndim == 4 and frames.shape[1] == 3
    # frames come scaled to the planned size, or as stored when that is smaller; either way
    # vLLM's own rule, applied to what it receives, lands on the planned size
    cap = rules.video_max_pixels(len(frames), tiny_config.video_min_pixels, tiny_config.video_max_pixels,
                                 tiny_config.video_total_max_pixels, tiny_config.frame_factor)
    h, w = frames.shape[-2:]
    assert rules.smart_resize(h, w, tiny_config.factor, tiny_config.video_min_pixels, cap) == item.resized
    assert frames.shape[0] == len(times) == len(item.timestamps) == item.details["frames"]
    assert frames.shape[0] % 2 == 0
    assert list(times) == sorted(times) and times[0] == 0
    assert item.timestamps[-1] < item.duration_s
    assert not item.openai_part.built  # the data URL costs nothing until a remote server needs it
    url = str(item.openai_part["video_url"]["url"])  # a DataUrl: streamed from the file when sent
    assert url.startswith("data:video/") and item.openai_part.built
    assert base64.b64decode(url.split(",", 1)[1]) == media_files[name].read_bytes()


def test_rotated_phone_video_is_turned_upright(media_files, tiny_config):
    plain, turned = prepare(media_files["clip.mp4"], tiny_config), prepare(media_files["rotated.mp4"], tiny_config)
    assert (plain.details["width"], plain.details["height"]) == (320, 240)
    assert (turned.details["width"], turned.details["height"]) == (240, 320)
    assert turned.resized == plain.resized[::-1] and turned.tokens == plain.tokens
    frames = turned.vllm_data[0]
    assert frames.shape[-2] > frames.shape[-1]  # taller than wide, as shown on the phone


def test_video_frames_come_from_their_timestamps(media_files, tiny_config):
    """testsrc2 draws a moving pattern: frames picked at different times must differ."""
    frames, times = prepare(media_files["long.mp4"], tiny_config).vllm_data
    assert len(times) == 16  # 12 s at 2 fps = 24, capped by the tiny model's max_frames
    diffs = [(frames[i].int() - frames[i + 1].int()).abs().float().mean() for i in range(len(frames) - 1)]
    assert min(diffs) > 1.0


def test_video_sound_is_prepared_as_its_own_audio_item(media_files, tiny_config):
    with_sound = prepare(media_files["clip.mp4"], tiny_config)
    assert with_sound.audio_track is not None and with_sound.audio_track.kind == "audio"
    assert with_sound.total_tokens == with_sound.tokens + with_sound.audio_track.tokens
    assert prepare(media_files["silent.mkv"], tiny_config).audio_track is None
    no_sound_wanted = tiny_config.with_overrides(include_video_audio=False)
    assert prepare(media_files["clip.mp4"], no_sound_wanted).audio_track is None


@pytest.mark.parametrize("name", SOUNDS)
def test_audio_becomes_24k_mono_float32(media_files, name):
    item = prepare(media_files[name])
    samples, rate = item.vllm_data
    assert item.kind == "audio" and rate == 24000
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) / 24000 - item.duration_s) < 0.03
    assert 0.05 < np.abs(samples).max() <= 1.0  # the tone (amplitude 1/8, less once upmixed) is there
    assert item.openai_part["type"] == "input_audio"


def test_audio_tokens_follow_the_length(media_files):
    item = prepare(media_files["exact24k.wav"])  # exactly 1 s: 101 mel frames -> 7 tokens + 2
    assert len(item.vllm_data[0]) == 24000 and item.tokens == 9


def test_openai_audio_keeps_wav_and_mp3_and_reencodes_the_rest(media_files):
    assert prepare(media_files["tone.mp3"]).openai_part["input_audio"]["format"] == "mp3"
    flac = prepare(media_files["tone.flac"]).openai_part["input_audio"]
    assert flac["format"] == "wav"
    with wave.open(io.BytesIO(base64.b64decode(str(flac["data"])))) as w:
        assert (w.getframerate(), w.getnchannels()) == (24000, 1)


def test_kind_comes_from_content_not_the_name(media_files, tmp_path):
    disguised = {"photo.jpg": "holiday.mp3", "tone.flac": "song.png", "clip.mp4": "clip.wav"}
    for source, fake_name in disguised.items():
        copy = tmp_path / fake_name
        shutil.copy(media_files[source], copy)
        assert prepare(copy).kind == prepare(media_files[source]).kind


def test_bytes_work_like_files_and_are_hashed(media_files):
    data = media_files["photo.jpg"].read_bytes()
    from_bytes, from_file = prepare(data), prepare(media_files["photo.jpg"])
    assert (from_bytes.tokens, from_bytes.sha256) == (from_file.tokens, from_file.sha256)
    assert from_bytes.source is None and from_file.source == media_files["photo.jpg"]


def test_model_config_changes_the_cost(media_files, tiny_config):
    default = prepare(media_files["photo.jpg"], default_config())
    tiny = prepare(media_files["photo.jpg"], tiny_config)
    assert default.resized == (480, 640) and tiny.resized == (364, 504)  # tiny: 14-px patches, 256×784 px cap
    assert tiny.tokens == 13 * 18 + 2 and not tiny.estimate
    assert isinstance(tiny, PreparedMedia) and tiny.placeholder == "<|vision_start|><|image_pad|><|vision_end|>"


def test_package_level_prepare_stays_a_function_once_the_module_is_loaded(media_files):
    import mimo_desktop.media as media
    import mimo_desktop.media.preparation  # noqa: F401 - the import that used to shadow the function

    assert callable(media.prepare)
    assert media.prepare_file(media_files["photo.jpg"]).kind == "image"


def test_a_set_stop_event_ends_a_video_decode_with_a_clear_error(media_files, tiny_config):
    import threading

    from mimo_desktop.media.errors import PreparationStopped

    stop = threading.Event()
    stop.set()
    with pytest.raises(PreparationStopped, match="stopped"):
        prepare(media_files["long.mp4"], tiny_config, stop)
    assert prepare(media_files["long.mp4"], tiny_config, threading.Event()).kind == "video"
