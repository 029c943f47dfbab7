"""The per-channel mean/std normalisation of the analysis tools: [0, 1] pixels to the input timm models read."""
from __future__ import annotations

from typing import Sequence, Union

import torch

Constants = Union[Sequence[float], torch.Tensor]


def normalise(x01: torch.Tensor, mean: Constants, std: Constants) -> torch.Tensor:
    """``(x01 - mean) / std`` per channel for a (B, C, H, W) batch of [0, 1] pixels (timm's Normalize).

    ``mean`` and ``std`` are 0-1 constants (e.g. a model's ``data_config['mean']`` / ``['std']``); they
    are taken in the batch's dtype and device. Differentiable in ``x01``.
    """
    mean_c = torch.as_tensor(mean, dtype=x01.dtype, device=x01.device).view(1, -1, 1, 1)
    std_c = torch.as_tensor(std, dtype=x01.dtype, device=x01.device).view(1, -1, 1, 1)
    return (x01 - mean_c) / std_c
