"""The library's random number generator, so that one `manual_seed(n)` makes a run reproducible."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator behind `randn`, `rand`, `nn.init` and `nn.Dropout`; returns it."""
    global _generator
    _generator = seeded(seed, "manual_seed")
    return _generator


def seeded(seed: int, fn: str) -> np.random.Generator:
    """A new generator from an int seed in [-2⁶³, 2⁶⁴), as PyTorch accepts them: a negative seed
    is read as its 64-bit two's complement, seed + 2⁶⁴ (numpy's generators take only seeds >= 0)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{fn}: seed must be an int, got {seed!r}")
    seed = int(seed)
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"{fn}: seed {seed} is outside [-2**63, 2**64)")
    return np.random.default_rng(seed % 2**64)


def generator() -> np.random.Generator:
    """The current global generator."""
    return _generator
