"""The differentiable ops: each a `Function` whose forward sits next to its vector-Jacobian product.

One module per family, each importing only downward (core.py, and ops of a family below it):
elementwise (arithmetic, unary functions, where, cast), reduce (sum, broadcast, max), movement
(reshape, permute, indexing, concatenation), matmul, nn (linear, softmax, losses), conv
(convolution, pooling, padding).

Outside this package op classes are always written qualified, `ops.ReLU`, so they are never
confused with the `nn` Modules of the same name. Most code calls them through Tensor's methods or
`tinygrad_edu.functional`.
"""

from tinygrad_edu.ops import conv
from tinygrad_edu.ops.elementwise import (
    Abs,
    Add,
    Cast,
    Clip,
    Div,
    Exp,
    Log,
    Mul,
    Neg,
    Pow,
    ReLU,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
    Where,
    times,
)
from tinygrad_edu.ops.matmul import MatMul
from tinygrad_edu.ops.movement import Concatenate, Index, IndexAdd, Permute, Reshape, as_index
from tinygrad_edu.ops.nn import (
    ELU,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    Linear,
    LogSoftmax,
    NormalCDF,
    Softmax,
    Softplus,
)
from tinygrad_edu.ops.reduce import Expand, Max, Sum, sum_to

__all__ = [
    "ELU",
    "Abs",
    "Add",
    "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits",
    "Cast",
    "Clip",
    "Concatenate",
    "CrossEntropy",
    "Div",
    "Exp",
    "Expand",
    "Hardswish",
    "Hardtanh",
    "Index",
    "IndexAdd",
    "LeakyReLU",
    "Linear",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "Mul",
    "Neg",
    "NormalCDF",
    "Permute",
    "Pow",
    "ReLU",
    "Reshape",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Sqrt",
    "Sub",
    "Sum",
    "Tanh",
    "Where",
    "as_index",
    "conv",
    "sum_to",
    "times",
]
