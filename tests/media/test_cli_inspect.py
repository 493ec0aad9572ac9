"""``mimo-desktop inspect``: the lines people read and the JSON scripts parse."""

from __future__ import annotations

import io
import json

import pytest

from mimo_desktop.media.cli import run


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = run(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_json_has_one_object_per_file_with_the_promised_keys(media_files, bad_files, tiny_model_dir):
    files = [media_files["photo.jpg"], media_files["clip.mp4"], media_files["tone.flac"], bad_files["notes.mp4"]]
    code, out, err = _run([*map(str, files), "--model", str(tiny_model_dir), "--json"])
    reports = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and "1 of 4 files cannot be used" in err
    assert [r["kind"] for r in reports] == ["image", "video", "audio", None]
    for report in reports:
        assert {"file", "kind", "tokens", "resized", "timestamps", "error"} <= set(report)
    image, video, audio, text = reports
    assert image["resized"] == [364, 504] and image["tokens"] == 236 and image["error"] is None
    assert len(video["timestamps"]) == video["details"]["frames"] and video["resized"] == [168, 252]  # 64×784-pixel frame cap
    assert video["audio_track_tokens"] > 0 and not video["estimate"]
    assert audio["resized"] is None and audio["tokens"] > 2
    assert text["error"] == "This is a text file, not an image, video or audio file." and text["tokens"] is None


def test_fast_mode_reads_headers_and_agrees_with_full_decoding(media_files):
    names = ["rotated_exif6.jpg", "clip.webm", "long.mp4", "stereo48k.wav"]
    full = [json.loads(line) for line in _run([*(str(media_files[n]) for n in names), "--json"])[1].splitlines()]
    fast = [json.loads(line) for line in
            _run([*(str(media_files[n]) for n in names), "--json", "--fast"])[1].splitlines()]
    for a, b in zip(full, fast, strict=True):
        assert (a["kind"], a["tokens"], a["resized"], a["audio_track_tokens"]) == (
            b["kind"], b["tokens"], b["resized"], b["audio_track_tokens"])


def test_text_output_names_size_frames_and_cost(media_files):
    code, out, _ = _run([str(media_files["clip.mov"])])
    assert code == 0
    first, second = out.splitlines()
    assert "clip.mov: video, 240×320, 1.50 s, 24 fps, resized to" in first
    assert "tokens" in first and "(estimate: built-in MiMo-V2.5 defaults)" in first
    assert second.strip().startswith("8 frames at 0.00 ")


def test_a_bad_model_folder_is_one_clear_line(tmp_path, media_files):
    code, out, err = _run([str(media_files["photo.jpg"]), "--model", str(tmp_path)])
    assert code == 1 and out == ""
    assert err.strip() == f"mimo-desktop inspect: {tmp_path} has no config.json; is it a model folder?"


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as caught:
        _run([])
    assert caught.value.code == 2
