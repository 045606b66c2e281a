"""nn beyond Linear: buffers and the Module API, containers, all-or-nothing loading, the
normalisation layers, Embedding, Unflatten and nn.utils.

Independent truth: the normalisation layers' forward and backward written out in numpy from the
textbook chain rule (Ioffe & Szegedy 2015 for BatchNorm), running statistics from a numpy loop,
finite differences in float64 for first and second derivatives (one hypothesis factory for the
family), and PyTorch's documented orders and keys written out by hand.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import tinygrad_edu as tg
from tinygrad_edu import nn

F64 = np.float64


# ---- buffers and the Module API --------------------------------------------------------------------
class Counter(nn.Module):
    """A parameter, a persistent and a non-persistent buffer, and a child with a buffer of its own."""

    def __init__(self) -> None:
        self.child = nn.BatchNorm1d(2)
        self.register_buffer("steps", np.zeros((), np.int64))
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.register_buffer("cache", np.ones(4, np.float32), persistent=False)


def test_buffers_are_saved_and_listed_but_never_parameters():
    m = Counter()
    # PyTorch's order: the module's own parameters, then its own buffers, then each child's.
    assert list(m.state_dict()) == [
        "scale",
        "steps",
        "child.weight",
        "child.bias",
        "child.running_mean",
        "child.running_var",
        "child.num_batches_tracked",
    ]
    assert [n for n, _ in m.named_parameters()] == ["scale", "child.weight", "child.bias"]
    assert [n for n, _ in m.named_buffers()] == [
        "steps",
        "cache",
        "child.running_mean",
        "child.running_var",
        "child.num_batches_tracked",
    ]
    assert [n for n, _ in m.named_buffers(recurse=False)] == ["steps", "cache"]
    assert not any(isinstance(b, nn.Parameter) for b in m.buffers())
    assert {id(p) for p in m.parameters()}.isdisjoint(id(b) for b in m.buffers())
    assert m.state_dict()["steps"].dtype == np.int64


def test_buffers_load_in_place_and_non_persistent_ones_are_unexpected_keys():
    m = Counter()
    steps, mean = m.steps, m.child.running_mean
    sd = m.state_dict()
    sd["steps"] = np.asarray(5)
    sd["child.running_mean"] = np.array([1.0, 2.0])
    m.load_state_dict(sd)
    assert m.steps is steps and m.child.running_mean is mean  # loaded in place
    assert m.steps.item() == 5 and m.child.running_mean.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"unexpected keys \['cache'\]"):
        m.load_state_dict({**sd, "cache": np.zeros(4)})


def test_buffer_assignment_keeps_it_a_buffer_and_none_leaves_it_out():
    m = Counter()
    m.steps = np.asarray(3)  # an array becomes a Tensor, still a buffer
    assert isinstance(m.steps, tg.Tensor) and m.state_dict()["steps"] == 3
    m.steps = None
    assert "steps" not in m.state_dict() and "steps" not in dict(m.named_buffers())
    m.steps = tg.Tensor(np.asarray(4))
    assert m.state_dict()["steps"] == 4
    with pytest.raises(TypeError, match="cannot assign a str as buffer 'steps'"):
        m.steps = "four"
    m.steps = nn.Parameter(np.zeros(1, np.float32))  # as in PyTorch the name now holds a parameter
    assert "steps" in dict(m.named_parameters()) and "steps" not in dict(m.named_buffers())
    del m.cache
    assert "cache" not in dict(m.named_buffers())


@pytest.mark.parametrize(
    "name, value, error, match",
    [
        ("a.b", np.zeros(1), KeyError, "must be non-empty and contain no '.'"),
        ("", np.zeros(1), KeyError, "must be non-empty"),
        (3, np.zeros(1), TypeError, "buffer name must be a string, got int"),
        ("scale", np.zeros(1), KeyError, "'scale': an attribute of that name already exists"),
        ("training", np.zeros(1), KeyError, "'training': an attribute of that name already exists"),
        ("extra", nn.Parameter(np.zeros(1)), TypeError, "buffer 'extra' cannot be a Parameter"),
        ("extra", [1.0, 2.0], TypeError, "cannot assign a list as buffer 'extra'"),
        ("extra", np.array(["a"]), TypeError, "buffer 'extra': Tensor: data of dtype <U1 is not numeric"),
    ],
)
def test_register_buffer_refuses_bad_names_and_values(name, value, error, match):
    m = Counter()
    with pytest.raises(error, match=match):
        m.register_buffer(name, value)
    assert "extra" not in dict(m.named_buffers())


def test_register_parameter_and_add_module():
    m = Counter()
    m.register_parameter("shift", nn.Parameter(np.zeros(2, np.float32)))
    m.register_parameter("unused", None)
    m.add_module("head", nn.Linear(2, 1))
    assert [n for n, _ in m.named_parameters()] == [
        "scale",
        "shift",
        "child.weight",
        "child.bias",
        "head.weight",
        "head.bias",
    ]
    with pytest.raises(TypeError, match="cannot register a Tensor as parameter 'w'"):
        m.register_parameter("w", tg.Tensor([1.0]))
    with pytest.raises(KeyError, match="parameter name 'steps': an attribute of that name already exists"):
        m.register_parameter("steps", nn.Parameter(np.zeros(1)))
    with pytest.raises(KeyError, match="module name 'scale': an attribute of that name already exists"):
        m.add_module("scale", nn.ReLU())
    with pytest.raises(TypeError, match="Counter: ndarray is not a Module"):
        m.add_module("x", np.zeros(1))


def test_apply_visits_children_before_parents_and_returns_self():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    seen: list[str] = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    # PyTorch's Module.apply: fn on each child's subtree first, then on the module itself.
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]
    model.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert all(not p.data.any() for n, p in model.named_parameters() if n.endswith("weight"))


def test_apply_and_named_modules_terminate_on_cycles():
    inner = nn.Sequential(nn.ReLU())
    outer = nn.Sequential(inner)
    inner.back = outer  # a reference to an ancestor
    seen: list[nn.Module] = []
    outer.apply(seen.append)
    assert seen == [inner[0], inner, outer]
    assert [n for n, _ in outer.named_modules()] == ["", "0", "0.0"]


def test_named_modules_memo_prefix_and_duplicates():
    shared = nn.Linear(1, 1)
    model = nn.Sequential(shared, shared)
    assert [n for n, _ in model.named_modules()] == ["", "0"]
    assert [n for n, _ in model.named_modules(remove_duplicate=False)] == ["", "0", "1"]
    assert [n for n, _ in model.named_modules(prefix="net")] == ["net", "net.0"]
    assert [n for n, _ in model.named_modules(memo={shared})] == [""]
    assert list(model.children()) == [shared] and [n for n, _ in model.named_children()] == ["0"]


def test_requires_grad_freezes_and_unfreezes_every_parameter():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model(tg.randn(4, 2)).sum()  # nothing requires grad: no graph
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())
    assert not any(b.requires_grad for b in model.buffers())


def test_to_casts_float_parameters_buffers_and_grads_in_place():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Embedding(5, 2))
    x = tg.Tensor(np.random.default_rng(7).standard_normal((6, 3)).astype(np.float32))
    model[1](model[0](x)).sum().backward()
    params = list(model.parameters())
    expected = {k: v.astype(F64) for k, v in model.state_dict().items()}
    assert model.double() is model and list(model.parameters()) == params
    for k, v in model.state_dict().items():
        want = np.int64 if k.endswith("num_batches_tracked") else F64
        assert v.dtype == want and np.array_equal(v, expected[k]), k
    assert model[0].weight.grad.dtype == F64 and model[2].weight.grad is None
    head = nn.Sequential(model[0], model[1]).eval()
    assert tg.gradcheck(lambda w: head(tg.Tensor(x.data.astype(F64))), [model[0].weight])
    assert model.float()[0].weight.dtype == np.float32 and model.half()[1].running_var.dtype == np.float16
    assert model.to("cpu") is model
    with pytest.raises(ValueError, match="device 'cuda:0': tinygrad_edu runs on the CPU only"):
        model.to("cuda:0")
    with pytest.raises(TypeError, match=r"Sequential\.to: int32 is not a floating-point dtype"):
        model.to(np.int32)


# ---- containers ------------------------------------------------------------------------------------
def test_sequential_from_an_ordered_dict_keeps_its_keys_and_slices_keep_the_original_keys():
    a, r, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(OrderedDict([("a", a), ("r", r), ("c", c)]))
    assert list(model.state_dict()) == ["a.weight", "a.bias", "c.weight", "c.bias"]
    assert len(model) == 3 and list(model) == [a, r, c] and model[-1] is c and model[1] is r
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and [n for n, _ in tail.named_children()] == ["r", "c"]
    assert list(tail.state_dict()) == ["c.weight", "c.bias"]  # loads into model's keys
    assert [n for n, _ in nn.Sequential(a, r, c)[::2].named_children()] == ["0", "2"]
    x = np.array([[0.5, -1.0]], np.float32)
    np.testing.assert_array_equal(model(tg.Tensor(x)).data, c(r(a(tg.Tensor(x)))).data)
    tanh = nn.Tanh()
    model[1] = tanh  # replaced under its key
    assert [n for n, _ in model.named_children()] == ["a", "r", "c"] and model.r is tanh
    model.append(nn.Identity())
    assert [n for n, _ in model.named_children()][-1] == "3"
    del model[0]  # as in PyTorch, deleting renumbers every key
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"] and list(model)[:2] == [tanh, c]
    model.insert(0, a)
    assert list(model)[:3] == [a, tanh, c] and len(model) == 4


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda s: s[2], IndexError, "Sequential: index 2 is out of range for 2 modules"),
        (lambda s: s[-3], IndexError, "index -3 is out of range"),
        (lambda s: s["0"], TypeError, "an index must be an integer, got str"),
        (lambda s: s.append(np.zeros(2)), TypeError, "Sequential: ndarray is not a Module"),
        (lambda s: nn.Sequential(OrderedDict([("a.b", nn.ReLU())])), KeyError, "contain no '.'"),
        (lambda s: nn.Sequential({"forward": nn.ReLU()}), KeyError, "'forward': an attribute"),
    ],
)
def test_sequential_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(nn.Sequential(nn.ReLU(), nn.Tanh()))


def test_module_list_is_a_list_of_registered_modules():
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    first = layers[0]
    assert len(layers) == 3 and [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    del layers[0]  # the rest are renumbered, as in PyTorch
    assert [n for n, _ in layers.named_children()] == ["0", "1"] and first not in list(layers)
    layers.insert(1, nn.ReLU())
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear"]
    layers += [nn.Tanh()]
    layers.append(nn.Identity()).extend([nn.Sigmoid()])
    assert len(layers) == 6 and isinstance(layers[-1], nn.Sigmoid)
    sliced = layers[2:4]
    assert isinstance(sliced, nn.ModuleList) and [n for n, _ in sliced.named_children()] == ["0", "1"]
    assert len(layers + sliced) == 8
    del layers[1:3]
    assert [type(m).__name__ for m in layers] == ["Linear", "Tanh", "Identity", "Sigmoid"]

    class Net(nn.Module):
        def __init__(self) -> None:
            self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

    assert list(Net().state_dict()) == [
        "blocks.0.weight",
        "blocks.0.bias",
        "blocks.1.weight",
        "blocks.1.bias",
    ]
    with pytest.raises(NotImplementedError, match="ModuleList does not define forward"):
        layers(tg.randn(1, 1))
    with pytest.raises(IndexError, match="ModuleList: index 4 is out of range for 4 modules"):
        layers[4]


def test_module_dict_is_a_dict_of_registered_modules():
    heads = nn.ModuleDict({"digit": nn.Linear(4, 10)})
    heads["parity"] = nn.Linear(4, 2)
    heads.update([("extra", nn.ReLU())])
    assert list(heads) == heads.keys() == ["digit", "parity", "extra"] and len(heads) == 3
    assert "parity" in heads and "missing" not in heads and 3 not in heads
    assert list(heads.state_dict()) == ["digit.weight", "digit.bias", "parity.weight", "parity.bias"]
    assert isinstance(heads.pop("extra"), nn.ReLU) and "extra" not in heads
    del heads["digit"]
    assert [k for k, _ in heads.items()] == ["parity"] and heads.values() == [heads["parity"]]
    with pytest.raises(KeyError, match="missing"):
        heads["missing"]
    with pytest.raises(KeyError, match="'keys': an attribute of that name already exists"):
        heads["keys"] = nn.ReLU()
    with pytest.raises(TypeError, match="ModuleDict: int is not a Module"):
        heads["x"] = 3
    heads.clear()
    assert len(heads) == 0 and list(heads.parameters()) == []


# ---- load_state_dict: all or nothing ----------------------------------------------------------------
def _model(middle: nn.Module | None = None) -> nn.Sequential:
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), middle or nn.Tanh(), nn.Linear(4, 2))


# Each case corrupts the LAST entry of an otherwise good state dict (every other value changed);
# before, the earlier entries were written and then the load failed.
BAD_LAST_ENTRY = [
    ("complex", lambda sd: {**sd, "2.bias": sd["2.bias"] + 1j}, TypeError, r"'2\.bias' has dtype complex64"),
    ("strings", lambda sd: {**sd, "2.bias": np.array(["a", "b"])}, TypeError, r"'2\.bias' has dtype <U1"),
    ("objects", lambda sd: {**sd, "2.bias": np.array([{}, {}])}, TypeError, r"'2\.bias' has dtype object"),
    ("ragged", lambda sd: {**sd, "2.bias": [[1.0], [1.0, 2.0]]}, TypeError, r"'2\.bias' is not an array"),
    (
        "float into int64",
        lambda sd: {**sd, "1.num_batches_tracked": np.asarray(2.5)},
        TypeError,
        r"'1\.num_batches_tracked' of dtype float64 cannot be cast to the model's int64",
    ),
    (
        "shape",
        lambda sd: {**sd, "2.bias": np.zeros(3)},
        ValueError,
        r"'2\.bias' is \(3,\) in the state dict, \(2,\)",
    ),
]


@pytest.mark.parametrize(
    "make_bad, error, match", [c[1:] for c in BAD_LAST_ENTRY], ids=[c[0] for c in BAD_LAST_ENTRY]
)
def test_load_state_dict_with_a_bad_last_entry_changes_nothing(make_bad, error, match):
    model = _model(nn.BatchNorm1d(4) if "num_batches" in match else None)
    before = model.state_dict()
    good = {k: v + 1 for k, v in before.items()}
    with pytest.raises(error, match=r"Sequential\.load_state_dict: nothing was loaded: " + match):
        model.load_state_dict(make_bad(good))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_load_state_dict_into_a_read_only_tensor_changes_nothing():
    model = _model()
    model[2].bias.data.flags.writeable = False
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"'2\.bias': the model's array of shape \(2,\) is read-only"):
        model.load_state_dict({k: v + 1 for k, v in before.items()})
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_load_state_dict_names_every_bad_key_at_once():
    model = _model(nn.BatchNorm1d(4))
    sd = {**model.state_dict(), "0.weight": np.zeros((4, 4)), "1.running_var": np.array(["x"] * 4)}
    with pytest.raises(ValueError) as info:
        model.load_state_dict(sd)
    message = str(info.value)
    assert "'0.weight' is (4, 4) in the state dict, (4, 3) in the model" in message
    assert "'1.running_var' has dtype <U1" in message
    with pytest.raises(TypeError, match="expected a dict of arrays, got list"):
        model.load_state_dict([("0.weight", np.zeros((4, 3)))])


def test_load_state_dict_casts_within_a_kind():
    model = _model(nn.BatchNorm1d(4))
    sd = model.state_dict()
    sd["1.num_batches_tracked"] = np.asarray(7, np.int32)
    sd["1.running_mean"] = np.arange(4, dtype=np.float64)
    sd["0.bias"] = np.array([True, False, True, False])  # bool -> float is safe
    model.load_state_dict(sd)
    assert model[1].num_batches_tracked.dtype == np.int64 and model[1].num_batches_tracked.item() == 7
    assert model[1].running_mean.dtype == np.float32 and model[1].running_mean.tolist() == [0, 1, 2, 3]
    assert model[0].bias.tolist() == [1, 0, 1, 0]


# ---- the normalisation layers: numpy references written out ------------------------------------------
def batch_norm_ref(x: np.ndarray, w: Any, b: Any, eps: float = 1e-5) -> np.ndarray:
    """(x - E[x]) / sqrt(Var[x] + eps) per channel (axis 1), over the batch and spatial axes."""
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    xhat = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
    return xhat * np.reshape(w, shape) + np.reshape(b, shape)


def layer_norm_ref(x: np.ndarray, w: Any, b: Any, k: int, eps: float = 1e-5) -> np.ndarray:
    axes = tuple(range(x.ndim - k, x.ndim))
    return (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps) * w + b


def group_norm_ref(x: np.ndarray, w: Any, b: Any, groups: int, eps: float = 1e-5) -> np.ndarray:
    g = x.reshape(x.shape[0], groups, -1)
    xhat = ((g - g.mean(2, keepdims=True)) / np.sqrt(g.var(2, keepdims=True) + eps)).reshape(x.shape)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return xhat * np.reshape(w, shape) + np.reshape(b, shape)


def spread(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """float64 values in [-3, 3], distinct and at least 6/size apart (in the order drawn), so that
    no group is constant: at var ≈ 0 the gradients grow like 1/sqrt(eps) and finite differences
    lose their digits."""
    floats = st.floats(-3, 3, allow_nan=False, allow_subnormal=False)
    return hnp.arrays(F64, shape, elements=floats).map(
        lambda x: -3 + 6 * np.argsort(np.argsort(x, axis=None, kind="stable")).reshape(x.shape) / x.size
    )


Case = tuple[tuple[int, ...], dict]  # the input's shape, and the layer's arguments beyond it


def norm_test(
    make: Callable[..., nn.Module],
    ref: Callable[[nn.Module, np.ndarray, Any, Any], np.ndarray],
    cases: st.SearchStrategy[Case],
    train: bool = True,
) -> Callable[..., None]:
    """A hypothesis test of a normalisation layer in float64 (the family's one factory):
    `make(shape, **kw)` builds the layer for an input of that shape; its output equals
    `ref(layer, x, weight, bias)` in numpy, and its first and second derivatives with respect to
    x, weight and bias equal central finite differences (`tg.gradcheck`)."""

    @settings(max_examples=10)
    @given(data=st.data())
    def test(data: st.DataObject) -> None:
        shape, kw = data.draw(cases, label="case")
        layer = make(shape, **kw).train(train)
        rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
        params = list(layer.parameters())
        for p in params:
            p.data[...] = rng.uniform(0.5, 1.5, p.shape)
        for name, buffer in layer.named_buffers():
            if name == "running_mean":
                buffer.data[...] = rng.standard_normal(buffer.shape)
            elif name == "running_var":
                buffer.data[...] = rng.uniform(0.5, 2.0, buffer.shape)
        w = layer.weight.data if getattr(layer, "weight", None) is not None else 1.0
        b = layer.bias.data if getattr(layer, "bias", None) is not None else 0.0
        x = tg.Tensor(data.draw(spread(shape), label="x"), requires_grad=True)
        out = layer(x)
        assert out.dtype == F64 and out.shape == shape
        np.testing.assert_allclose(out.data, ref(layer, x.data, w, b), rtol=1e-10, atol=1e-10)
        inputs = [x, *params]
        assert tg.gradcheck(lambda *_: layer(x), inputs)
        v = tg.Tensor(rng.standard_normal(out.shape))  # second derivatives: those of v·∂out/∂(x, w)
        assert tg.gradcheck(lambda *_: tg.grad((layer(x) * v).sum(), inputs[:2], create_graph=True), inputs)

    return test


def _batch_ref(layer: nn.Module, x: np.ndarray, w: Any, b: Any) -> np.ndarray:
    if layer.training or layer.running_mean is None:
        return batch_norm_ref(x, w, b, layer.eps)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = layer.running_mean.data.reshape(shape), layer.running_var.data.reshape(shape)
    return (x - mean) / np.sqrt(var + layer.eps) * np.reshape(w, shape) + np.reshape(b, shape)


def _layer_norm_ref(layer: nn.Module, x: np.ndarray, w: Any, b: Any) -> np.ndarray:
    return layer_norm_ref(x, w, b, len(layer.normalized_shape), layer.eps)


def _group_norm_ref(layer: nn.Module, x: np.ndarray, w: Any, b: Any) -> np.ndarray:
    return group_norm_ref(x, w, b, layer.num_groups, layer.eps)


def _shapes(*sides: tuple[int, int]) -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(*[st.integers(lo, hi) for lo, hi in sides])


def _no_kw(shapes: st.SearchStrategy[tuple[int, ...]]) -> st.SearchStrategy[Case]:
    return shapes.map(lambda s: (s, {}))


BN1D = _no_kw(_shapes((3, 4), (1, 3)) | _shapes((2, 3), (1, 3), (1, 3)))
BN2D = _no_kw(_shapes((2, 3), (1, 3), (1, 3), (1, 2)))


def _batch_norm(shape: tuple[int, ...], **kw: Any) -> nn.Module:
    cls = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
    return cls(shape[1], dtype=F64, **kw)


test_batchnorm1d_against_numpy_and_finite_differences = norm_test(_batch_norm, _batch_ref, BN1D)
test_batchnorm1d_eval_against_numpy_and_finite_differences = norm_test(
    _batch_norm, _batch_ref, BN1D, train=False
)
test_batchnorm2d_against_numpy_and_finite_differences = norm_test(
    _batch_norm, _batch_ref, BN2D.map(lambda c: (c[0], {"momentum": None, "eps": 1e-3}))
)
test_batchnorm2d_eval_against_numpy_and_finite_differences = norm_test(
    _batch_norm, _batch_ref, BN2D, train=False
)
test_batchnorm_without_affine_or_statistics_normalises_with_the_batch_in_eval = norm_test(
    _batch_norm,
    _batch_ref,
    BN2D.map(lambda c: (c[0], {"affine": False, "track_running_stats": False})),
    train=False,
)
test_layernorm_against_numpy_and_finite_differences = norm_test(
    lambda shape, k, **kw: nn.LayerNorm(shape[len(shape) - k :], dtype=F64, **kw),
    _layer_norm_ref,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3).flatmap(
        lambda s: st.tuples(
            st.just(s),
            st.fixed_dictionaries({"k": st.integers(1, len(s))}, optional={"bias": st.booleans()}),
        )
    ),
)
test_layernorm_without_affine = norm_test(
    lambda shape: nn.LayerNorm(shape[-1], elementwise_affine=False, dtype=F64),
    _layer_norm_ref,
    _no_kw(_shapes((1, 3), (2, 4))),
)
test_groupnorm_against_numpy_and_finite_differences = norm_test(
    lambda shape, groups, **kw: nn.GroupNorm(groups, shape[1], dtype=F64, **kw),
    _group_norm_ref,
    st.tuples(
        st.integers(1, 3), st.sampled_from([(1, 2), (2, 2), (2, 4), (3, 3)]), st.integers(1, 3)
    ).flatmap(
        lambda t: st.tuples(
            st.sampled_from([(t[0], t[1][1]), (t[0], t[1][1], t[2])]),
            st.fixed_dictionaries({"groups": st.just(t[1][0]), "affine": st.booleans()}),
        )
    ),
)


# ---- backward derived by hand --------------------------------------------------------------------
def batch_norm_backward_by_hand(x, gamma, dy, axes, eps=1e-5):
    """The chain rule of Ioffe & Szegedy (2015), section 3, written out step by step:
    x̂ = (x - μ) / sqrt(σ² + eps), y = γ x̂ + β, with m values per normalised group:
      ∂L/∂x̂  = ∂L/∂y · γ
      ∂L/∂σ² = Σ ∂L/∂x̂ · (x - μ) · (-1/2) (σ² + eps)^(-3/2)
      ∂L/∂μ  = Σ ∂L/∂x̂ · (-1 / sqrt(σ² + eps)) + ∂L/∂σ² · Σ -2 (x - μ) / m
      ∂L/∂x  = ∂L/∂x̂ / sqrt(σ² + eps) + ∂L/∂σ² · 2 (x - μ) / m + ∂L/∂μ / m
      ∂L/∂γ  = Σ ∂L/∂y · x̂,   ∂L/∂β = Σ ∂L/∂y   (over everything but γ's axes)
    """
    m = np.prod([x.shape[a] for a in axes])
    mu = x.sum(axes, keepdims=True) / m
    var = ((x - mu) ** 2).sum(axes, keepdims=True) / m
    xhat = (x - mu) / np.sqrt(var + eps)
    dxhat = dy * gamma
    dvar = (dxhat * (x - mu) * -0.5 * (var + eps) ** -1.5).sum(axes, keepdims=True)
    dmu = (dxhat * -1 / np.sqrt(var + eps)).sum(axes, keepdims=True) + dvar * (-2 * (x - mu)).sum(
        axes, keepdims=True
    ) / m
    dx = dxhat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / m + dmu / m
    return dx, dy * xhat, dy


@pytest.mark.parametrize("shape", [(16, 5), (6, 3, 7), (4, 3, 5, 6)])
def test_batchnorm_backward_matches_the_hand_derivation(shape):
    rng = np.random.default_rng(1)
    x, dy = rng.normal(2.0, 3.0, shape), rng.standard_normal(shape)
    layer = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1], dtype=F64)
    layer.weight.data[:] = rng.uniform(0.5, 2.0, shape[1])
    layer.bias.data[:] = rng.standard_normal(shape[1])
    xt = tg.Tensor(x, requires_grad=True)
    layer(xt).backward(dy)
    axes = (0, *range(2, len(shape)))
    per_channel = (1, -1) + (1,) * (len(shape) - 2)
    dx, dgamma, dbeta = batch_norm_backward_by_hand(x, layer.weight.data.reshape(per_channel), dy, axes)
    np.testing.assert_allclose(xt.grad, dx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, dgamma.sum(axes), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, dbeta.sum(axes), rtol=1e-12, atol=1e-12)
    assert np.abs(dx).max() > 1e-3  # a real gradient, so the comparison can fail


@pytest.mark.parametrize("shape, k", [((8, 6), 1), ((3, 4, 5), 1), ((3, 4, 5), 2)])
def test_layernorm_backward_matches_the_hand_derivation(shape, k):
    """LayerNorm is the same chain rule over the trailing axes; γ and β collect over the leading."""
    rng = np.random.default_rng(2)
    x, dy = rng.normal(-1.0, 2.0, shape), rng.standard_normal(shape)
    layer = nn.LayerNorm(shape[-k:], dtype=F64)
    layer.weight.data[...] = rng.uniform(0.5, 2.0, shape[-k:])
    xt = tg.Tensor(x, requires_grad=True)
    layer(xt).backward(dy)
    axes = tuple(range(len(shape) - k, len(shape)))
    dx, dgamma, dbeta = batch_norm_backward_by_hand(x, layer.weight.data, dy, axes)
    lead = tuple(range(len(shape) - k))
    np.testing.assert_allclose(xt.grad, dx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, dgamma.sum(lead), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, dbeta.sum(lead), rtol=1e-12, atol=1e-12)
    assert np.abs(dx).max() > 1e-3


# ---- running statistics ----------------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 4, 5)])
def test_running_statistics_over_several_steps_follow_a_numpy_loop(momentum, shape):
    """r ← (1 - m) r + m s per step, with the unbiased batch variance; m = 1/t for momentum=None
    (the cumulative average). float32 stays float32."""
    rng = np.random.default_rng(3)
    layer = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(3, momentum=momentum)
    axes = (0, *range(2, len(shape)))
    mean, var = np.zeros(3), np.ones(3)
    for t in range(1, 6):
        x = rng.normal(t, 1 + t, shape).astype(np.float32)
        out = layer(tg.Tensor(x))
        assert out.dtype == np.float32
        m = 1 / t if momentum is None else momentum
        batch = x.astype(F64)
        n = batch.size / 3
        mean = (1 - m) * mean + m * batch.mean(axes)
        var = (1 - m) * var + m * batch.var(axes) * n / (n - 1)
        np.testing.assert_allclose(layer.running_mean.data, mean, rtol=1e-5)
        np.testing.assert_allclose(layer.running_var.data, var, rtol=1e-5)
        assert layer.num_batches_tracked.item() == t and layer.num_batches_tracked.dtype == np.int64
    assert layer.running_mean.dtype == layer.running_var.dtype == np.float32
    layer.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    per_channel = (1, -1) + (1,) * (len(shape) - 2)
    expected = (x - mean.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + 1e-5)
    np.testing.assert_allclose(layer(tg.Tensor(x)).data, expected, rtol=1e-4, atol=1e-5)
    assert layer.num_batches_tracked.item() == 5  # evaluation changes nothing


def test_running_statistics_are_left_alone_in_eval_and_without_tracking():
    x = tg.Tensor(np.random.default_rng(4).standard_normal((6, 2)).astype(np.float32))
    layer = nn.BatchNorm1d(2).eval()
    layer(x)
    assert layer.running_mean.tolist() == [0, 0] and layer.num_batches_tracked.item() == 0
    untracked = nn.BatchNorm1d(2, track_running_stats=False)
    assert untracked.running_mean is None and list(untracked.state_dict()) == ["weight", "bias"]
    np.testing.assert_allclose(untracked.eval()(x).data, untracked.train()(x).data)  # batch statistics
    layer.train()
    layer.momentum = 0.5
    layer(x)
    layer.reset_running_stats()
    assert layer.running_mean.tolist() == [0, 0] and layer.running_var.tolist() == [1, 1]
    assert layer.num_batches_tracked.item() == 0


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_buffers_survive_a_checkpoint(tmp_path, suffix):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.LayerNorm(3))
    rng = np.random.default_rng(5)
    for _ in range(3):
        model(tg.Tensor(rng.standard_normal((8, 4)).astype(np.float32)))
    tg.save(model.state_dict(), tmp_path / f"bn{suffix}")
    tg.manual_seed(1)
    fresh = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.LayerNorm(3))
    fresh.load_state_dict(tg.load(tmp_path / f"bn{suffix}"))
    for (name, a), (_, b) in zip(model.named_buffers(), fresh.named_buffers()):
        assert a.dtype == b.dtype and np.array_equal(a.data, b.data), name
    assert fresh[1].num_batches_tracked.item() == 3 and fresh[1].running_var.data.std() > 0
    x = tg.Tensor(rng.standard_normal((5, 4)).astype(np.float32))
    np.testing.assert_array_equal(fresh.eval()(x).data, model.eval()(x).data)


# ---- errors of the normalisation layers --------------------------------------------------------------
@pytest.mark.parametrize(
    "layer, x, error, match",
    [
        (
            nn.BatchNorm1d(3),
            np.zeros((2, 3, 4, 5), np.float32),
            ValueError,
            r"\(N, C\) or \(N, C, L\) with C = 3, got shape \(2, 3, 4, 5\)",
        ),
        (
            nn.BatchNorm1d(3),
            np.zeros((2, 4), np.float32),
            ValueError,
            r"BatchNorm1d\(3, .*\): expected .* C = 3, got shape \(2, 4\)",
        ),
        (
            nn.BatchNorm2d(3),
            np.zeros((2, 3, 4), np.float32),
            ValueError,
            r"\(N, C, H, W\) with C = 3, got shape \(2, 3, 4\)",
        ),
        (
            nn.BatchNorm1d(3),
            np.zeros((1, 3), np.float32),
            ValueError,
            r"more than 1 value per channel when training, got shape \(1, 3\)",
        ),
        (nn.BatchNorm2d(3), np.zeros((1, 3, 1, 1), np.float32), ValueError, "more than 1 value per channel"),
        (nn.BatchNorm1d(3), np.zeros((2, 3)), TypeError, "input dtype float64 is not the layer's float32"),
        (
            nn.BatchNorm1d(3),
            np.zeros((2, 3), np.int64),
            TypeError,
            "input dtype int64 is not the layer's float32",
        ),
        (
            nn.LayerNorm((2, 3)),
            np.zeros((4, 3, 2), np.float32),
            ValueError,
            r"input of shape \(4, 3, 2\) does not end in \(2, 3\)",
        ),
        (
            nn.LayerNorm(3),
            np.zeros((), np.float32),
            ValueError,
            r"input of shape \(\) does not end in \(3,\)",
        ),
        (
            nn.LayerNorm(3, elementwise_affine=False),
            np.zeros(3, np.uint8),
            TypeError,
            "not a floating-point dtype",
        ),
        (
            nn.GroupNorm(2, 4),
            np.zeros((2, 6), np.float32),
            ValueError,
            r"GroupNorm\(2, 4, .*\): .*C = 4, got \(2, 6\)",
        ),
        (nn.GroupNorm(2, 4), np.zeros(4, np.float32), ValueError, r"C = 4, got \(4,\)"),
    ],
    ids=lambda v: "" if not isinstance(v, np.ndarray) else str(v.shape) + str(v.dtype),
)
def test_normalisation_layers_name_themselves_and_the_shapes(layer, x, error, match):
    with pytest.raises(error, match=match):
        layer(tg.Tensor(x))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: nn.BatchNorm1d(0), "BatchNorm1d: num_features must be a positive integer, got 0"),
        (lambda: nn.BatchNorm2d(2.0), "num_features must be a positive integer, got 2.0"),
        (lambda: nn.BatchNorm1d(2, eps=-1), "eps must be a finite number >= 0, got -1"),
        (lambda: nn.BatchNorm1d(2, momentum=1.5), r"momentum must be in \[0, 1\] or None, got 1.5"),
        (lambda: nn.LayerNorm(()), "normalized_shape must name at least one dimension"),
        (lambda: nn.LayerNorm((3, 0)), "normalized_shape must be a positive integer, got 0"),
        (lambda: nn.GroupNorm(3, 4), r"num_channels \(4\) must be divisible by num_groups \(3\)"),
        (lambda: nn.GroupNorm(2, 4, eps=float("nan")), "eps must be a finite number"),
        (lambda: nn.Embedding(0, 3), "num_embeddings must be a positive integer, got 0"),
        (lambda: nn.Embedding(5, 3, padding_idx=5), "padding_idx 5 is out of range for 5 rows"),
        (lambda: nn.Unflatten(1, (2, -1, -1)), "only one size may be -1"),
        (lambda: nn.Unflatten(1, (2, 1.5)), "unflattened_size must be non-negative ints"),
    ],
)
def test_layer_arguments_are_checked_when_the_layer_is_built(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_reprs_are_pytorchs():
    assert (
        repr(nn.BatchNorm2d(4))
        == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    )
    assert repr(nn.LayerNorm(5)) == "LayerNorm((5,), eps=1e-05, elementwise_affine=True)"
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"
    assert repr(nn.Unflatten(1, (2, 5))) == "Unflatten(dim=1, unflattened_size=(2, 5))"
    assert repr(nn.Identity()) == "Identity()"


# ---- Embedding ---------------------------------------------------------------------------------------
def test_embedding_looks_up_rows_and_sums_the_gradient_of_repeated_indices():
    emb = nn.Embedding(6, 3, dtype=F64)
    idx = np.array([[0, 2, 2], [5, 2, 0]])
    out = emb(idx)
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    g = np.random.default_rng(6).standard_normal(out.shape)
    out.backward(g)
    expected = np.zeros((6, 3))
    for pos in np.ndindex(idx.shape):  # the slow loop: each position adds into its row
        expected[idx[pos]] += g[pos]
    np.testing.assert_allclose(emb.weight.grad, expected, rtol=0, atol=1e-15)
    assert tg.gradcheck(lambda _: emb(idx), [emb.weight])  # float64: perturbed in place
    assert emb(tg.Tensor(np.array([1], np.int32))).shape == (1, 3) and emb([4]).shape == (1, 3)


def test_embedding_padding_row_starts_at_zero_and_never_gets_a_gradient():
    tg.manual_seed(0)
    emb = nn.Embedding(1000, 8, padding_idx=-1)  # the last row
    assert emb.padding_idx == 999 and not emb.weight.data[999].any()
    w = emb.weight.data[:999]
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02  # N(0, 1), as PyTorch's init
    emb.weight.data[999] = 7.0  # a padding row that holds values still returns them
    idx = np.array([[999, 3], [3, 999]])
    out = emb(idx)
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    out.backward(np.ones(out.shape, np.float32))
    assert not emb.weight.grad[999].any() and np.all(emb.weight.grad[3] == 2)


@pytest.mark.parametrize(
    "idx, error, match",
    [
        (
            np.array([0, 6]),
            IndexError,
            r"indices must be in \[0, 6\), got values from 0 to 6 \(input of shape \(2,\)\)",
        ),
        (np.array([-1, 2]), IndexError, "got values from -1 to 2"),
        (np.array([0.0, 1.0]), TypeError, r"indices must be integers, got dtype float64 \(shape \(2,\)\)"),
        (np.array([True]), TypeError, "got dtype bool"),
    ],
)
def test_embedding_refuses_bad_indices(idx, error, match):
    with pytest.raises(error, match=r"Embedding\(6, 2\): .*" + match):
        nn.Embedding(6, 2)(idx)


# ---- Identity, Unflatten -------------------------------------------------------------------------------
def test_identity_and_unflatten():
    x = tg.Tensor(np.arange(24.0).reshape(2, 12), requires_grad=True)
    assert nn.Identity(3, key="ignored")(x) is x
    out = nn.Unflatten(1, (3, -1))(x)
    np.testing.assert_array_equal(out.data, np.arange(24.0).reshape(2, 3, 4))
    assert nn.Unflatten(-1, (2, 2, 3))(x).shape == (2, 2, 2, 3)
    assert nn.Unflatten(0, [1, 2])(x).shape == (1, 2, 12)
    out.sum().backward()
    assert x.grad.shape == (2, 12) and np.all(x.grad == 1)
    with pytest.raises(ValueError, match=r"dimension 1 of the input of shape \(2, 12\) has 12 elements"):
        nn.Unflatten(1, (5, 2))(x)
    with pytest.raises(ValueError, match=r"do not split into \(5, -1\)"):
        nn.Unflatten(1, (5, -1))(x)
    with pytest.raises(ValueError, match=r"dim 2 is out of range for an input of shape \(2, 12\)"):
        nn.Unflatten(2, (2, 6))(x)


# ---- nn.utils ------------------------------------------------------------------------------------------
def _with_grads(grads: list[np.ndarray]) -> list[nn.Parameter]:
    params = [nn.Parameter(np.zeros(g.shape, g.dtype)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    return params


GRADS = [np.array([[3.0, -4.0], [1.0, 2.0]], np.float32), np.array([-12.0, 0.5], np.float32)]


@pytest.mark.parametrize(
    "norm_type, total",
    [
        (2.0, np.sqrt(9 + 16 + 1 + 4 + 144 + 0.25)),
        (1.0, 3 + 4 + 1 + 2 + 12 + 0.5),
        (3, (27 + 64 + 1 + 8 + 1728 + 0.125) ** (1 / 3)),
        (float("inf"), 12.0),
        ("inf", 12.0),
    ],
)
def test_clip_grad_norm_scales_all_gradients_by_one_factor(norm_type, total):
    params = _with_grads(GRADS)
    result = nn.utils.clip_grad_norm_(
        params + [nn.Parameter(np.zeros(2, np.float32))], 5.0, norm_type
    )  # no grad: skipped
    assert isinstance(result, tg.Tensor) and result.shape == () and result.dtype == np.float32
    np.testing.assert_allclose(result.item(), total, rtol=1e-6)
    for p, g in zip(params, GRADS):
        np.testing.assert_allclose(p.grad, g * 5.0 / (total + 1e-6), rtol=1e-6)
        assert p.grad.dtype == np.float32
    unclipped = _with_grads(GRADS)
    nn.utils.clip_grad_norm_(unclipped, 100.0, norm_type)
    assert all(np.array_equal(p.grad, g) for p, g in zip(unclipped, GRADS))


def test_clip_grad_norm_non_finite():
    params = _with_grads([np.array([1.0, np.inf]), np.array([np.nan, 2.0])])
    with pytest.raises(RuntimeError, match=r"total norm of order 2\.0 of the gradients is nan"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert params[0].grad[0] == 1.0  # nothing changed
    assert np.isnan(nn.utils.clip_grad_norm_(params, 1.0).item()) and np.isnan(params[0].grad).all()
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    assert nn.utils.clip_grad_norm_(nn.Parameter(np.zeros(1)), 1.0).item() == 0.0  # one tensor, no grad
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="clip_grad_norm_: max_norm must be >= 0"):
            nn.utils.clip_grad_norm_(params, bad)
    with pytest.raises(TypeError, match=r"expected Tensors .* got a ndarray"):
        nn.utils.clip_grad_norm_([np.zeros(2)], 1.0)


def test_clip_grad_value_clips_each_element():
    params = _with_grads(GRADS)
    assert nn.utils.clip_grad_value_(params, 2.5) is None
    for p, g in zip(params, GRADS):
        np.testing.assert_array_equal(p.grad, np.minimum(np.maximum(g, -2.5), 2.5))
    with pytest.raises(ValueError, match=r"clip_value must be >= 0, got -1\.0"):
        nn.utils.clip_grad_value_(params, -1)


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2))
    vec = nn.utils.parameters_to_vector(model.parameters())
    expected = np.concatenate([p.data.ravel() for p in model.parameters()])
    np.testing.assert_array_equal(vec.data, expected)
    (vec * tg.Tensor(np.arange(vec.numel(), dtype=np.float32))).sum().backward()  # differentiable
    assert model[0].weight.grad.ravel().tolist() == list(range(6))
    arrays = [p.data for p in model.parameters()]
    nn.utils.vector_to_parameters(tg.Tensor(np.arange(12.0)), model.parameters())
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))  # in place
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(model.parameters()).data, np.arange(12.0))
    assert model[0].weight.dtype == np.float32
    before = nn.utils.parameters_to_vector(model.parameters()).data.copy()
    with pytest.raises(ValueError, match=r"vec of shape \(11,\) for parameters with 12 elements in all"):
        nn.utils.vector_to_parameters(tg.Tensor(np.zeros(11)), model.parameters())
    with pytest.raises(TypeError, match="vec must be a Tensor, got ndarray"):
        nn.utils.vector_to_parameters(np.zeros(12), model.parameters())
    counts = nn.Parameter(np.zeros(2, np.int64), requires_grad=False)
    with pytest.raises(TypeError, match="vec of dtype float64 cannot be cast to parameter 4's int64"):
        nn.utils.vector_to_parameters(tg.Tensor(np.ones(14)), [*model.parameters(), counts])
    model[1].bias.data.flags.writeable = False
    with pytest.raises(ValueError, match=r"parameter 3 \(shape \(2,\)\) is read-only"):
        nn.utils.vector_to_parameters(tg.Tensor(np.ones(12)), model.parameters())
    np.testing.assert_array_equal(
        nn.utils.parameters_to_vector(model.parameters()).data, before
    )  # all or nothing
    with pytest.raises(ValueError, match="no parameters given"):
        nn.utils.parameters_to_vector([])
