"""The library's random number generator, so that one `manual_seed(n)` makes a run reproducible."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator behind `randn`, `rand`, `nn.init` and `nn.Dropout`; returns it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The current global generator."""
    return _generator
