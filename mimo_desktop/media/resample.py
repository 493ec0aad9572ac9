"""Sound to the model's rate as a stream: bounded memory and time at any sample rate.

torchaudio's ``Resample(rate, 24000)`` builds one polyphase kernel of
``(24000 / g) × (rate / g + 2·width)`` floats, g = gcd(rate, 24000): a few
thousand at 16000, 22050, 44100 or 48000 Hz, but 385 million at 16033 Hz (13 GB
and 40 s to inspect a 3 s file). So:

- where that kernel is small (every rate a recorder or an encoder produces), we
  run torchaudio's own kernel over the stream, chunk by chunk, which gives the
  values vLLM's processor computes for the whole signal (it uses the same
  transform), to float rounding;
- at any other rate, soxr's streaming resampler (libsoxr, "HQ"), which needs no
  kernel sized by the ratio. Its output is cut or padded to torchaudio's length,
  so token counts stay those of ``rules.resampled_length``.

Channels are resampled separately and averaged afterwards: the reference's order.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

# Largest torchaudio kernel we build: 4 MB of float32. The common rates need < 60 000 floats.
KERNEL_LIMIT = 1_000_000
_LOWPASS_WIDTH = 6  # torchaudio's defaults (vLLM uses them)
_ROLLOFF = 0.99


def kernel_floats(rate: int, target: int) -> int:
    """Floats in torchaudio's sinc kernel for this pair of rates."""
    g = math.gcd(rate, target)
    orig, new = rate // g, target // g
    width = math.ceil(_LOWPASS_WIDTH * orig / (min(orig, new) * _ROLLOFF))
    return new * (2 * width + orig)


@functools.lru_cache(maxsize=16)
def _kernel(rate: int, target: int) -> tuple[torch.Tensor, int]:
    """torchaudio's own sinc kernel (and its width) for this pair: built once per pair of rates."""
    import torchaudio

    resample = torchaudio.transforms.Resample(rate, target)
    return resample.kernel, int(resample.width)


class StreamResampler:
    """Feed ``(channels, n)`` float32 chunks with ``push``; mono float32 at ``target`` comes out.

    ``finish`` flushes the tail. The concatenated output equals resampling the
    whole signal at once (torchaudio's kernel) or soxr's one-shot result.
    """

    def __init__(self, rate: int, target: int, channels: int) -> None:
        self.rate, self.target, self.channels = rate, target, channels
        self._taken = 0  # input samples per channel so far
        self._given = 0  # output samples so far
        self._soxr = None
        self._kernel: torch.Tensor | None = None
        if rate == target:
            return
        if kernel_floats(rate, target) <= KERNEL_LIMIT:
            g = math.gcd(rate, target)
            self._orig, self._new = rate // g, target // g
            self._kernel, self._width = _kernel(rate, target)
            # torchaudio pads the whole signal with `width` zeros in front
            self._buffer = torch.zeros((channels, self._width), dtype=torch.float32)
        else:
            import soxr

            self._soxr = soxr.ResampleStream(rate, target, channels, dtype="float32", quality="HQ")

    @property
    def exact_length(self) -> int:
        """torchaudio's output length for the input so far."""
        g = math.gcd(self.rate, self.target)
        return -(-(self.target // g) * self._taken // (self.rate // g))

    def push(self, chunk: torch.Tensor) -> np.ndarray:
        chunk = chunk.to(torch.float32)
        self._taken += chunk.shape[-1]
        if self.rate == self.target:
            return self._emit(chunk)
        if self._soxr is not None:
            out = self._soxr.resample_chunk(np.ascontiguousarray(chunk.numpy().T), last=False)
            return self._emit_soxr(out)
        self._buffer = torch.cat([self._buffer, chunk], dim=1)
        return self._run_kernel()

    def finish(self) -> np.ndarray:
        """The tail: the reference pads ``width + orig`` zeros at the end, then cuts to its length."""
        if self.rate == self.target:
            return np.zeros(0, np.float32)
        if self._soxr is not None:
            tail = self._soxr.resample_chunk(np.zeros((0, self.channels), np.float32), last=True)
            return self._emit_soxr(tail, final=True)
        pad = torch.zeros((self.channels, self._width + self._orig), dtype=torch.float32)
        self._buffer = torch.cat([self._buffer, pad], dim=1)
        return self._run_kernel(final=True)

    def _run_kernel(self, final: bool = False) -> np.ndarray:
        size = self._kernel.shape[-1]
        frames = (self._buffer.shape[1] - size) // self._orig + 1 if self._buffer.shape[1] >= size else 0
        if frames <= 0:
            return self._emit(torch.zeros((self.channels, 0)), final)
        used = (frames - 1) * self._orig + size
        with torch.no_grad():
            out = F.conv1d(self._buffer[:, None, :used], self._kernel, stride=self._orig)
        self._buffer = self._buffer[:, frames * self._orig:].clone()
        return self._emit(out.transpose(1, 2).reshape(self.channels, -1), final)

    def _emit(self, waves: torch.Tensor, final: bool = False) -> np.ndarray:
        """Cut to torchaudio's length (the kernel's last frame overshoots it), mix to mono."""
        limit = self.exact_length if final or self.rate == self.target else None
        if limit is not None:
            waves = waves[:, : max(0, limit - self._given)]
        mono = waves.mean(dim=0) if waves.shape[0] > 1 else waves[0]
        self._given += mono.shape[0]
        return mono.numpy().astype(np.float32, copy=False)

    def _emit_soxr(self, out: np.ndarray, final: bool = False) -> np.ndarray:
        mono = out.mean(axis=1, dtype=np.float32) if out.shape[1] > 1 else out[:, 0]
        if final:  # soxr's length differs from torchaudio's by a sample or two: match torchaudio's
            want = self.exact_length - self._given
            mono = mono[:max(0, want)] if want <= mono.shape[0] else np.pad(mono, (0, want - mono.shape[0]))
        self._given += mono.shape[0]
        return np.ascontiguousarray(mono, dtype=np.float32)


def resample_whole(waveform: torch.Tensor, rate: int, target: int) -> np.ndarray:
    """(C, T) or (T,) at ``rate`` -> mono float32 numpy at ``target``, through the stream, in 10 s chunks."""
    wave = waveform if waveform.ndim == 2 else waveform[None, :]
    stream = StreamResampler(rate, target, wave.shape[0])
    step = max(1, rate * 10)
    parts = [stream.push(wave[:, i:i + step]) for i in range(0, wave.shape[1], step)]
    parts.append(stream.finish())
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)
