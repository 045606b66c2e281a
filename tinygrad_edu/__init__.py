"""tinygrad_edu: a small, readable autograd library on numpy.

The core, bottom up (docs/architecture.md): `grad_mode`, `versions`, `axes`, `dtypes` and `hooks`
(import nothing of ours), `core` (Function, and Tensor's data, arithmetic and backward) and
`parallel` (the threads an op may split its work over), `ops/` (the differentiable ops), `engine`
(backward and grad) and `tensor_methods` (PyTorch's other Tensor methods), `creation`,
`arguments` and `functional`; then `numerical` (gradcheck), `forward_mode` (jvp), `nn`, `optim`,
`data` and the study tools.
"""

from tinygrad_edu import data, experiments, nn, onnx, optim, viz
from tinygrad_edu.axes import Size
from tinygrad_edu.core import Function, Tensor
from tinygrad_edu.creation import (
    arange,
    bool_,
    double,
    empty,
    eye,
    float16,
    float32,
    float64,
    full,
    full_like,
    half,
    int8,
    int16,
    int32,
    int64,
    linspace,
    long,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    uint8,
    zeros,
    zeros_like,
)
from tinygrad_edu.engine import grad
from tinygrad_edu.forward_mode import jacobian, jvp, vjp
from tinygrad_edu.functional import cat, concatenate, maximum, minimum, stack, where
from tinygrad_edu.grad_mode import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from tinygrad_edu.numerical import GradcheckError, gradcheck, numerical_grad
from tinygrad_edu.parallel import get_num_threads, set_num_threads
from tinygrad_edu.rng import manual_seed
from tinygrad_edu.serialization import load, save
from tinygrad_edu.tracing import trace
from tinygrad_edu.version import __version__ as __version__

bool = bool_  # torch.bool's name; left out of __all__, so that `import *` keeps Python's bool

__all__ = [
    "Function",
    "GradcheckError",
    "Size",
    "Tensor",
    "arange",
    "bool_",
    "cat",
    "concatenate",
    "data",
    "detect_anomaly",
    "double",
    "empty",
    "enable_grad",
    "experiments",
    "eye",
    "float16",
    "float32",
    "float64",
    "full",
    "full_like",
    "get_num_threads",
    "grad",
    "gradcheck",
    "half",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "jacobian",
    "jvp",
    "linspace",
    "load",
    "long",
    "manual_seed",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "numerical_grad",
    "ones",
    "ones_like",
    "onnx",
    "optim",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "save",
    "set_grad_enabled",
    "set_num_threads",
    "stack",
    "tensor",
    "trace",
    "uint8",
    "viz",
    "vjp",
    "where",
    "zeros",
    "zeros_like",
]
