"""tinygrad_edu: a small, readable autograd library on numpy.

The core, bottom up (docs/architecture.md): `grad_mode`, `versions` and `axes` (import nothing
of ours), `core` (Tensor and Function), `ops/` (the differentiable ops), `engine` (backward and
grad), `creation` and `functional`; then `numerical` (gradcheck), `forward_mode` (jvp), `nn`,
`optim`, `data` and the study tools.
"""

from tinygrad_edu import data, experiments, nn, onnx, optim, viz
from tinygrad_edu.core import Function, Tensor
from tinygrad_edu.creation import ones, rand, randn, tensor, zeros
from tinygrad_edu.engine import grad
from tinygrad_edu.forward_mode import jacobian, jvp, vjp
from tinygrad_edu.functional import concatenate, stack, where
from tinygrad_edu.grad_mode import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from tinygrad_edu.numerical import GradcheckError, gradcheck, numerical_grad
from tinygrad_edu.rng import manual_seed
from tinygrad_edu.serialization import load, save
from tinygrad_edu.tracing import trace
from tinygrad_edu.version import __version__ as __version__

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "concatenate",
    "data",
    "detect_anomaly",
    "enable_grad",
    "experiments",
    "grad",
    "gradcheck",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "jacobian",
    "jvp",
    "load",
    "manual_seed",
    "nn",
    "no_grad",
    "numerical_grad",
    "ones",
    "onnx",
    "optim",
    "rand",
    "randn",
    "save",
    "set_grad_enabled",
    "stack",
    "tensor",
    "trace",
    "viz",
    "vjp",
    "where",
    "zeros",
]
