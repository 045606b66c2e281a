"""tinygrad_edu: a small, readable autograd library on numpy.

Core: `Tensor` (tensor.py), the op mechanism `Function` (function.py), the primitive ops
(ops.py), the backward engine (engine.py), forward mode beside it (forward_mode.py) and gradient
checking (gradcheck.py).
"""

# function.py first: it defines Function, which tensor.py (imported at its end) builds on.
from tinygrad_edu.function import Function, detect_anomaly, enable_grad, is_grad_enabled, no_grad  # isort: skip
from tinygrad_edu.engine import grad
from tinygrad_edu.forward_mode import jacobian, jvp, vjp
from tinygrad_edu.gradcheck import GradcheckError, gradcheck, numerical_grad
from tinygrad_edu.ops import concatenate, stack, where
from tinygrad_edu.rng import manual_seed
from tinygrad_edu.serialization import load, save
from tinygrad_edu.tensor import Tensor, ones, rand, randn, tensor, zeros
from tinygrad_edu.trace import trace

from tinygrad_edu import data, experiments, nn, onnx, optim, viz  # isort: skip  (built on the core)

__version__ = "0.1.0"

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
    "stack",
    "tensor",
    "trace",
    "viz",
    "vjp",
    "where",
    "zeros",
]
