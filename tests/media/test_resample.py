"""Sound at any sample rate reaches 24 kHz with bounded memory, decoded and resampled a minute at a time.

The files are real WAVs written here with the header's rate set to odd values (16033, 22051,
44101 Hz): torchaudio's Resample would build a kernel of 385 million to a billion floats for them
(13 GB, 40 s for a 3 s file). Memory peaks are measured in bench/media_memory.py, not here.
"""

from __future__ import annotations

import wave

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchaudio = pytest.importorskip("torchaudio")

from mimo_desktop.media import decode_av, rules  # noqa: E402
from mimo_desktop.media.costs import estimate  # noqa: E402
from mimo_desktop.media.preparation import prepare  # noqa: E402
from mimo_desktop.media.resample import KERNEL_LIMIT, StreamResampler, kernel_floats, resample_whole  # noqa: E402


def _tone_wav(path, rate: int, seconds: float, channels: int = 1, freq: float = 440.0):
    t = np.arange(round(rate * seconds)) / rate
    mono = 0.5 * np.sin(2 * np.pi * freq * t)
    pcm = (np.repeat(mono[:, None], channels, axis=1) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def _main_frequency(mono: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.argmax(spectrum) * rate / len(mono))


@pytest.mark.parametrize("rate", [16033, 22051, 44101])
def test_odd_sample_rates_are_prepared_and_keep_their_pitch(tmp_path, rate):
    assert kernel_floats(rate, 24000) > 100 * KERNEL_LIMIT  # the kernel torchaudio would have built
    path = _tone_wav(tmp_path / f"odd{rate}.wav", rate, 3.0, channels=2)

    item = prepare(path)

    mono, out_rate = item.vllm_data
    assert out_rate == 24000 and mono.dtype == np.float32
    assert len(mono) == rules.resampled_length(3 * rate, rate, 24000) == 72000
    assert item.details["sample_rate"] == rate and item.details["channels"] == 2
    assert abs(_main_frequency(mono, 24000) - 440.0) < 1.0
    assert 0.45 < float(np.abs(mono[1000:-1000]).max()) < 0.55  # amplitude kept: no gain or loss
    assert item.tokens == estimate(path).tokens  # the header's price is what it costs


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000, 8000, 11025])
def test_stream_equals_torchaudio_on_the_whole_signal_at_common_rates(rate):
    """What vLLM's processor does (torchaudio's Resample on everything at once), fed 0.37 s at a time."""
    gen = torch.Generator().manual_seed(rate)
    wave_ = torch.randn(2, rate * 2 + 13, generator=gen) * 0.3
    reference = torchaudio.transforms.Resample(rate, 24000)(wave_).mean(dim=0).numpy()
    stream = StreamResampler(rate, 24000, 2)
    step = int(rate * 0.37)
    parts = [stream.push(wave_[:, i:i + step]) for i in range(0, wave_.shape[1], step)] + [stream.finish()]
    ours = np.concatenate(parts)
    assert ours.shape == reference.shape
    assert float(np.abs(ours - reference).max()) <= 1e-6


def test_odd_rate_stream_is_the_same_however_it_is_chunked():
    rate = 44101
    signal = torch.randn(1, rate * 3, generator=torch.Generator().manual_seed(1)) * 0.2
    whole = resample_whole(signal, rate, 24000)
    stream = StreamResampler(rate, 24000, 1)
    parts = [stream.push(signal[:, i:i + 1000]) for i in range(0, signal.shape[1], 1000)] + [stream.finish()]
    assert len(whole) == len(np.concatenate(parts)) == rules.resampled_length(rate * 3, rate, 24000)
    assert float(np.abs(np.concatenate(parts) - whole).max()) < 1e-5


def test_long_audio_decoded_in_chunks_equals_decoding_it_whole(tmp_path, monkeypatch):
    """Chunk boundaries leave no seam: 2.5 minutes of stereo MP3 in 7 s chunks against one decode."""
    import subprocess

    from media_samples import FFMPEG

    path = tmp_path / "long.mp3"
    subprocess.run([FFMPEG, "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=330:r=44100:d=150",
                    "-ac", "2", "-c:a", "libmp3lame", "-b:a", "64k", str(path)], check=True)
    monkeypatch.setattr(decode_av, "AUDIO_CHUNK_S", 7.0)
    fractions: list[float] = []

    mono, info = decode_av.decode_audio_to_rate(str(path), 24000, progress=fractions.append)

    from torchcodec.decoders import AudioDecoder

    whole = AudioDecoder(str(path)).get_all_samples()
    reference = torchaudio.transforms.Resample(whole.sample_rate, 24000)(whole.data).mean(dim=0).numpy()
    assert mono.shape == reference.shape
    assert float(np.abs(mono - reference).max()) <= 1e-5
    assert info.sample_rate == 44100 and info.channels == 2
    assert len(fractions) >= 20 and fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0, abs=0.05)


def test_a_stop_ends_a_long_decode(tmp_path):
    import threading

    from mimo_desktop.media.errors import PreparationStopped

    path = _tone_wav(tmp_path / "two_minutes.wav", 16000, 120.0)
    stop = threading.Event()
    stop.set()
    with pytest.raises(PreparationStopped):
        prepare(path, stop=stop)


def test_a_file_over_the_length_limit_is_refused_from_its_header_with_the_limit_in_h_mm_ss(tmp_path, monkeypatch):
    """The header's duration decides before any sample is decoded (here a 2 s file against a 1 s limit)."""
    from mimo_desktop.media.config import default_config
    from mimo_desktop.media.errors import MediaTooLargeError

    path = _tone_wav(tmp_path / "long.wav", 8000, 2.0)
    cfg = default_config().with_overrides(max_duration_s=1.0)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(decode_av, "decode_audio_to_rate", no_decoding)
    for attempt in (estimate, prepare):
        with pytest.raises(MediaTooLargeError) as refused:
            attempt(path, cfg)
        assert str(refused.value) == ("The audio lasts 0:00:02; the limit is 0:00:01 (h:mm:ss). "
                                      "Cut it shorter to attach it.")
