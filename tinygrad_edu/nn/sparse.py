"""`Embedding`: a lookup table of learned vectors, indexed by integers (tokens, categories)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.functional import where
from tinygrad_edu.nn import init
from tinygrad_edu.nn.module import Module, Parameter
from tinygrad_edu.versions import mark_changed


class Embedding(Module):
    """Row i of `weight` (num_embeddings, embedding_dim) is the vector of index i: indices of
    shape S give an output of shape S + (embedding_dim,). `weight` starts as N(0, 1) samples, as
    in PyTorch. The row `padding_idx` (if given; negative counts from the end) starts at zeros
    and receives no gradient, so it stays as it is while the rest trains.

    The gradient of a row is the sum of the upstream gradients of every position that picked it.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        dtype: Any = np.float32,
    ) -> None:
        for name, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Embedding: {name} must be a positive integer, got {n!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
                raise TypeError(f"Embedding: padding_idx must be an int or None, got {padding_idx!r}")
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} rows"
                )
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0
            mark_changed(self.weight)

    def forward(self, input: Any) -> Tensor:
        idx = input.data if isinstance(input, Tensor) else np.asarray(input)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{self!r}: indices must be integers, got dtype {idx.dtype} (shape {idx.shape})")
        # NOTE: numpy would take a negative index from the end, silently; PyTorch refuses it.
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            raise IndexError(
                f"{self!r}: indices must be in [0, {self.num_embeddings}), got values from {idx.min()} "
                f"to {idx.max()} (input of shape {idx.shape})"
            )
        out = self.weight[idx]
        if self.padding_idx is not None:
            padding = idx == self.padding_idx
            if padding.any():  # the row's values, as a constant: no gradient flows back into it
                out = where(padding[..., None], self.weight.data[self.padding_idx], out)
        return out

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
