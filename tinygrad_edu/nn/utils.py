"""Gradient clipping and resetting, and a model's parameters as one flat vector, as in
`torch.nn.utils`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_edu.core import Tensor
from tinygrad_edu.functional import concatenate
from tinygrad_edu.versions import mark_changed


def zero_grad(parameters: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Reset the parameters' gradients before the next backward (they accumulate otherwise):
    drop them (`set_to_none=True`, PyTorch's default, frees the memory) or fill them with zeros.
    What `Module.zero_grad` and `Optimizer.zero_grad` do."""
    for p in parameters:
        if set_to_none:
            p.grad = None
        elif p.grad is not None:
            p.grad.fill(0)


def _tensors(parameters: Tensor | Iterable[Tensor], fn: str) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: expected Tensors (e.g. model.parameters()), got a {type(p).__name__}")
    return params


def _bound(fn: str, name: str, value: Any) -> float:
    value = float(value)
    if not value >= 0:  # NOTE: a negative bound would flip the gradients' signs; NaN is refused too
        raise ValueError(f"{fn}: {name} must be >= 0, got {value}")
    return value


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale every `.grad` in place, all by one factor, so that their total norm is at most
    `max_norm`; return the total norm before clipping (a 0-d Tensor).

    The total norm is that of all gradients joined into one vector, ‖(‖g₁‖_p, …, ‖gₙ‖_p)‖_p
    (p = `norm_type`, "inf" for the largest |g|). When it exceeds max_norm every gradient is
    multiplied by max_norm / (total + 1e-6), PyTorch's formula. A NaN or inf total raises with
    `error_if_nonfinite=True`; otherwise the gradients become NaN, as in PyTorch.
    """
    fn = "clip_grad_norm_"
    grads = [p.grad for p in _tensors(parameters, fn) if p.grad is not None]
    max_norm, p = _bound(fn, "max_norm", max_norm), float(norm_type)
    if math.isnan(p):
        raise ValueError(f"{fn}: norm_type must be a number or 'inf', got {norm_type!r}")
    if not grads:
        return Tensor(0.0)
    total = np.linalg.norm(np.array([np.linalg.norm(g.reshape(-1), ord=p) for g in grads]), ord=p)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"{fn}: the total norm of order {p} of the gradients is {total}, so they cannot be clipped "
            "(set error_if_nonfinite=False to clip anyway, which makes them NaN)"
        )
    coef = max_norm / (total + 1e-6)
    if not coef >= 1:  # NaN included, as PyTorch's clamp(coef, max=1)
        with np.errstate(invalid="ignore"):  # inf · 0 = NaN: asked for by error_if_nonfinite=False
            for g in grads:
                g *= coef
    return Tensor(np.asarray(total))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every `.grad` in place to [-clip_value, clip_value]."""
    v = _bound("clip_grad_value_", "clip_value", clip_value)
    for p in _tensors(parameters, "clip_grad_value_"):
        if p.grad is not None:
            np.clip(p.grad, -v, v, out=p.grad)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D Tensor, in order (differentiable)."""
    params = _tensors(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    return concatenate([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D `vec` into the parameters, in place (the inverse of
    `parameters_to_vector`). Unlike PyTorch, the parameters keep their own memory rather than
    becoming views of `vec`. All or nothing: the length, dtypes and writability are checked first."""
    fn = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{fn}: vec must be a Tensor, got {type(vec).__name__}")
    params = _tensors(parameters, fn)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"{fn}: vec of shape {vec.shape} for parameters with {total} elements in all")
    for i, p in enumerate(params):
        if not np.can_cast(vec.dtype, p.dtype, casting="same_kind"):
            raise TypeError(f"{fn}: vec of dtype {vec.dtype} cannot be cast to parameter {i}'s {p.dtype}")
        if not p.data.flags.writeable:
            raise ValueError(f"{fn}: parameter {i} (shape {p.shape}) is read-only")
    start = 0
    for p in params:
        np.copyto(p.data, vec.data[start : start + p.numel()].reshape(p.shape), casting="same_kind")
        mark_changed(p)
        start += p.numel()
