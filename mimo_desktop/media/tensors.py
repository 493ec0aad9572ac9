"""The processor's tensors: normalised pixel patches and log-mel audio features (torch).

The engine does not need these (vLLM computes them from ``vllm_data``); they
exist so tests can prove, value by value, that our rules produce what vLLM
0.33.0's ``MiMoVLProcessor`` produces, and so callers can preview exactly what
the vision tower sees. Imported lazily: it pulls in torch and torchaudio.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from mimo_desktop.media import rules
from mimo_desktop.media.config import ProcessorConfig

if TYPE_CHECKING:
    from PIL import Image

# ImageNet mean/std on 0…255 values, as in the reference.
_PIXEL_MEAN = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
_PIXEL_STD = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)


def _resize_normalise(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, C, H, W) any dtype -> (N, C, h, w) float32, bilinear, standardised."""
    resized = F.interpolate(frames.float(), size, mode="bilinear", align_corners=False)
    return (resized - _PIXEL_MEAN) / _PIXEL_STD


def flatten_patches(frames: torch.Tensor, cfg: ProcessorConfig) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """(T, C, h, w) with T a multiple of the temporal patch -> (t·gh·gw, C·tp·p·p) in merge order."""
    tp, p, m = cfg.temporal_patch_size, cfg.patch_size, cfg.merge_size
    t_all, c, h, w = frames.shape
    gt, gh, gw = t_all // tp, h // p, w // p
    patches = (
        frames.contiguous()
        .view(gt, tp, c, gh // m, m, p, gw // m, m, p)
        .permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
        .reshape(gt * gh * gw, c * tp * p * p)
    )
    return patches, (gt, gh, gw)


def image_pixel_values(image: Image.Image, cfg: ProcessorConfig) -> tuple[torch.Tensor, tuple[int, int, int]]:
    rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)
    size = rules.smart_resize(rgb.shape[1], rgb.shape[2], cfg.factor, cfg.image_min_pixels, cfg.image_max_pixels)
    pixels = _resize_normalise(rgb.unsqueeze(0), size)
    # a still image fills one temporal patch by repetition
    return flatten_patches(pixels.repeat(cfg.temporal_patch_size, 1, 1, 1), cfg)


def video_resized_size(num_frames: int, height: int, width: int, cfg: ProcessorConfig) -> tuple[int, int]:
    """Frame size after resizing: the per-frame budget counts the frames *before* temporal padding."""
    cap = rules.video_max_pixels(
        num_frames, cfg.video_min_pixels, cfg.video_max_pixels, cfg.video_total_max_pixels, cfg.frame_factor
    )
    return rules.smart_resize(height, width, cfg.factor, cfg.video_min_pixels, cap)


def pad_to_temporal_multiple(frames: torch.Tensor, cfg: ProcessorConfig) -> torch.Tensor:
    extra = -frames.shape[0] % cfg.frame_factor
    if extra:
        frames = torch.cat([frames, frames[-1:].repeat(extra, 1, 1, 1)], dim=0)
    return frames


def video_pixel_values(frames: torch.Tensor, cfg: ProcessorConfig) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """(T, C, H, W) uint8 sampled frames -> patches and (t, h, w) grid."""
    n, _, height, width = frames.shape
    size = video_resized_size(n, height, width, cfg)
    return flatten_patches(_resize_normalise(pad_to_temporal_multiple(frames, cfg), size), cfg)


class AudioFeaturizer:
    """Resample to the model's rate, mix to mono, log-mel: the reference's ``preprocess_audio``."""

    def __init__(self, cfg: ProcessorConfig) -> None:
        import torchaudio

        self._cfg = cfg
        self._torchaudio = torchaudio
        self._mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=cfg.audio_sampling_rate, n_fft=cfg.audio_n_fft, hop_length=cfg.audio_hop_length,
            win_length=cfg.audio_window_size, f_min=cfg.audio_fmin, f_max=cfg.audio_fmax,
            n_mels=cfg.audio_n_mels, power=1.0, center=True,
        )
        self._resamplers: OrderedDict[int, torch.nn.Module] = OrderedDict()

    def to_model_rate(self, waveform: torch.Tensor, rate: int) -> torch.Tensor:
        """(C, T) or (T,) float at ``rate`` -> mono float32 (T',) at the model's rate.

        Resample first, then average channels: the reference's order (it matters
        only in the last float bits, but parity is value by value).
        """
        waveform = waveform.float()
        if rate != self._cfg.audio_sampling_rate:
            if rate not in self._resamplers:
                if len(self._resamplers) >= 16:
                    self._resamplers.popitem(last=False)
                self._resamplers[rate] = self._torchaudio.transforms.Resample(rate, self._cfg.audio_sampling_rate)
            waveform = self._resamplers[rate](waveform)
        return waveform.mean(dim=0) if waveform.ndim == 2 else waveform

    def features(self, mono: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Mono waveform at the model's rate -> (frames, n_mels) log-mel and the audio token count."""
        spec = self._mel(mono[None, :])
        spec = torch.log(torch.clip(spec, min=1e-7)).squeeze(0).transpose(0, 1)
        c = self._cfg
        tokens = rules.audio_token_count_from_frames(
            spec.shape[0], c.audio_kernel_size, c.audio_stride_size, c.audio_avg_pooler, c.audio_group_size
        )
        return spec, tokens
