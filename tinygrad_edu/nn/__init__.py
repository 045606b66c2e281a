"""Neural-network building blocks with PyTorch's names: `Module`, containers, layers, losses,
`init` and `utils`."""

from tinygrad_edu.nn import init, utils
from tinygrad_edu.nn.container import ModuleDict, ModuleList, Sequential
from tinygrad_edu.nn.conv import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    MaxPool1d,
    MaxPool2d,
    ZeroPad2d,
)
from tinygrad_edu.nn.layers import (
    Dropout,
    Flatten,
    Identity,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    Unflatten,
)
from tinygrad_edu.nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from tinygrad_edu.nn.module import Module, Parameter
from tinygrad_edu.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from tinygrad_edu.nn.sparse import Embedding

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "GroupNorm",
    "Identity",
    "LayerNorm",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Unflatten",
    "ZeroPad2d",
    "init",
    "utils",
]
