"""nn: Module bookkeeping, layers vs numpy, init vs the fan formulas, state dicts, losses."""

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import init
from tinygrad_edu.serialization import load, save


class Block(nn.Module):
    def __init__(self):
        self.fc = nn.Linear(3, 4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


class Net(nn.Module):
    def __init__(self):
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.stem = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
        self.blocks = [Block(), Block()]
        self.heads = {"digit": nn.Linear(4, 10), "parity": nn.Linear(4, 2)}
        self.not_a_param = tg.Tensor(np.ones(3), requires_grad=True)  # plain tensors are not registered
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        h = self.stem(x)
        for b in self.blocks:
            h = b(h[:, :3])
        return self.heads["digit"](self.dropout(h)) * self.scale


# ---- bookkeeping ---------------------------------------------------------------------------------
def test_named_parameters_recurse_into_modules_lists_and_dicts():
    names = [name for name, _ in Net().named_parameters()]
    assert names == [
        "scale",
        "stem.0.weight",
        "stem.0.bias",
        "blocks.0.fc.weight",
        "blocks.0.fc.bias",
        "blocks.1.fc.weight",
        "blocks.1.fc.bias",
        "heads.digit.weight",
        "heads.digit.bias",
        "heads.parity.weight",
        "heads.parity.bias",
    ]


def test_parameters_are_the_named_ones_and_are_parameters():
    net = Net()
    params = list(net.parameters())
    assert [id(p) for p in params] == [id(p) for _, p in net.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)
    assert sum(p.numel() for p in params) == 1 + (2 * 3 + 3) + 2 * (3 * 4 + 4) + (4 * 10 + 10) + (4 * 2 + 2)


def test_shared_parameter_is_counted_once_but_named_in_state_dict_under_each_name():
    a, b = nn.Linear(4, 4), nn.Linear(4, 4)
    b.weight = a.weight  # weight tying
    model = nn.Sequential(a, nn.ReLU(), b)
    params = list(model.parameters())
    assert len(params) == 3
    assert len({id(p) for p in params}) == 3
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_shared_module_is_listed_once_and_cycles_terminate():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert len(list(model.modules())) == 3  # Sequential, Linear, ReLU
    child = Block()
    child.parent = model  # a back-reference must not recurse forever
    model.append(child)
    assert len(list(model.parameters())) == 4
    assert list(model.state_dict()) == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "3.fc.weight",
        "3.fc.bias",
    ]
    assert "(parent): <Sequential: cycle>" in repr(model)


def test_children_and_modules():
    net = Net()
    assert [name for name, _ in net.named_children()] == [
        "stem",
        "blocks.0",
        "blocks.1",
        "heads.digit",
        "heads.parity",
        "dropout",
    ]
    kinds = [type(m).__name__ for m in net.modules()]
    assert kinds[0] == "Net"
    assert kinds.count("Linear") == 5 and kinds.count("ReLU") == 2


def test_train_eval_set_flags_recursively():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_clears_every_parameter():
    net = Net()
    out = net(tg.rand(5, 2))
    out.sum().backward()
    unused = {id(p) for p in net.heads["parity"].parameters()}
    assert all(p.grad is not None for p in net.parameters() if id(p) not in unused)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_forward_missing_is_a_clear_error():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty does not define forward"):
        Empty()(1)


def test_parameter_shares_its_array():
    a = np.zeros(3)
    p = nn.Parameter(a)
    assert p.data is a and p.requires_grad and p.dtype == np.float64
    assert repr(p).startswith("Parameter containing:\nTensor(")


def test_repr_is_nested_like_pytorch():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Sequential(nn.ReLU(), nn.Dropout(0.25)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Flatten(start_dim=1, end_dim=-1)\n"
        "  (1): Linear(in_features=784, out_features=10, bias=True)\n"
        "  (2): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.25)\n"
        "  )\n"
        ")"
    )


def test_sequential_indexing_and_forward_order():
    relu, tanh = nn.ReLU(), nn.Tanh()
    model = nn.Sequential(relu, tanh)
    assert len(model) == 2 and model[0] is relu and model[-1] is tanh and list(model) == [relu, tanh]
    assert model[1:][0] is tanh
    x = np.array([[-1.0, 0.5, 2.0]])
    np.testing.assert_allclose(model(tg.Tensor(x)).data, np.tanh(np.maximum(x, 0)))
    with pytest.raises(TypeError, match="Sequential: function is not a Module"):
        nn.Sequential(lambda x: x)


def test_forward_hooks_see_module_args_and_output_in_call_order_and_can_be_removed():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    calls = []
    handles = [m.register_forward_hook(lambda m, args, out: calls.append((m, args, out))) for m in model]
    x = tg.Tensor(np.ones((1, 3), dtype=np.float32))
    y = model(x)
    assert [c[0] for c in calls] == list(model)  # inner modules, in the order they ran
    (a0,), (a1,) = calls[0][1], calls[1][1]
    assert a0 is x and a1 is calls[0][2] and calls[1][2] is y
    handles[0].remove()
    handles[0].remove()  # twice is harmless
    calls.clear()
    model(x)
    assert [c[0] for c in calls] == [model[1]]


def test_forward_hook_returning_a_value_replaces_the_output():
    relu = nn.ReLU()
    handle = relu.register_forward_hook(lambda m, args, out: out * 2)
    x = tg.Tensor(np.array([-1.0, 3.0]))
    np.testing.assert_array_equal(relu(x).data, [0.0, 6.0])
    handle.remove()
    np.testing.assert_array_equal(relu(x).data, [0.0, 3.0])


# ---- Linear -----------------------------------------------------------------------------------------
def test_linear_matches_numpy_and_its_gradients_match_the_hand_derivation():
    tg.manual_seed(0)
    layer = nn.Linear(5, 3, dtype=np.float64)
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    r = rng.standard_normal((4, 3))
    W, b = layer.weight.data, layer.bias.data
    y = layer(x)
    np.testing.assert_allclose(y.data, x.data @ W.T + b, rtol=1e-12)
    (y * tg.Tensor(r)).sum().backward()  # L = Σ r ⊙ y: dL/dy = r
    np.testing.assert_allclose(layer.weight.grad, r.T @ x.data, rtol=1e-12)  # dL/dW = rᵀ x
    np.testing.assert_allclose(layer.bias.grad, r.sum(0), rtol=1e-12)  # dL/db = Σ_n r_n
    np.testing.assert_allclose(x.grad, r @ W, rtol=1e-12)  # dL/dx = r W


def test_linear_without_bias_and_with_leading_batch_dims():
    layer = nn.Linear(4, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T, rtol=1e-6)


def test_linear_rejects_wrong_shape_and_dtype_clearly():
    layer = nn.Linear(784, 10)
    with pytest.raises(ValueError, match=r"Linear\(in_features=784.*\(8, 28, 28\)"):
        layer(tg.zeros(8, 28, 28))
    with pytest.raises(TypeError, match="float64 differs from the weight's float32"):
        layer(np.zeros((8, 784)))
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        nn.Linear(0, 3)


def test_linear_default_init_is_pytorchs_uniform_bounds():
    tg.manual_seed(0)
    n_in = 400
    layer = nn.Linear(n_in, 300)
    bound = 1 / math.sqrt(n_in)  # kaiming_uniform_(a=√5): √3·√(2/(1+5))/√in = 1/√in
    w, b = layer.weight.data, layer.bias.data
    assert w.dtype == np.float32 and w.shape == (300, n_in) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound  # the whole interval is used
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound  # U(-a, a) has std a/√3
    assert abs(w.mean()) < 0.01 * bound


def test_manual_seed_makes_models_bit_identical():
    def build():
        return nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 3))

    tg.manual_seed(42)
    a = build()
    tg.manual_seed(42)
    b = build()
    c = build()  # same generator, later draws
    for (na, pa), (nb, pb), (_, pc) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        assert na == nb
        assert np.array_equal(pa.data, pb.data)
        assert not np.array_equal(pa.data, pc.data)


# ---- state dicts ------------------------------------------------------------------------------------
def _mlp():
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


def test_state_dict_round_trip_through_files_gives_identical_outputs(tmp_path):
    tg.manual_seed(0)
    trained = _mlp()
    path = tmp_path / "mlp.npz"
    save(trained.state_dict(), path)
    tg.manual_seed(1)
    fresh = _mlp()
    x = tg.rand(7, 6)
    assert not np.array_equal(fresh(x).data, trained(x).data)
    arrays_before = [p.data for p in fresh.parameters()]
    result = fresh.load_state_dict(load(path))
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(fresh(x).data, trained(x).data)
    assert all(p.data is a for p, a in zip(fresh.parameters(), arrays_before))  # loaded in place


def test_state_dict_holds_copies_with_pytorch_keys():
    model = _mlp()
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert sd["0.weight"].shape == (5, 6)
    sd["0.weight"][:] = 123.0
    assert not np.any(model[0].weight.data == 123.0)


def test_load_state_dict_takes_tensors_and_parameters():
    """As PyTorch: another model's named_parameters() (Parameters, which require grad) load too."""
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    target.load_state_dict(dict(source.named_parameters()))
    np.testing.assert_array_equal(target.weight.data, source.weight.data)
    assert target.weight.data is not source.weight.data


def test_load_state_dict_preserves_parameter_dtype():
    model = _mlp()
    sd64 = {k: v.astype(np.float64) + 1.0 for k, v in model.state_dict().items()}
    model.load_state_dict(sd64)
    assert all(p.dtype == np.float32 for p in model.parameters())
    np.testing.assert_allclose(model[2].bias.data, sd64["2.bias"], rtol=1e-6)


def test_load_state_dict_strict_names_missing_and_unexpected_keys():
    model = _mlp()
    sd = model.state_dict()
    del sd["2.bias"]
    sd["3.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"missing keys \['2\.bias'\], unexpected keys \['3\.weight'\]"):
        model.load_state_dict(sd)
    before = model[0].weight.data.copy()
    sd["0.weight"] = before + 1
    result = model.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["3.weight"]
    np.testing.assert_array_equal(model[0].weight.data, before + 1)


def test_load_state_dict_shape_mismatch_names_key_and_shapes_and_changes_nothing():
    model = _mlp()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    sd = {k: v + 1 for k, v in before.items()}
    sd["2.weight"] = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"'2\.weight' is \(3, 4\) in the state dict, \(3, 5\) in the model"):
        model.load_state_dict(sd, strict=False)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])  # all-or-nothing: 0.weight was not overwritten


# ---- activations, Flatten, Dropout ---------------------------------------------------------------------
def test_activation_modules_match_numpy():
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = tg.Tensor(x)
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(nn.ReLU()(t).data, np.maximum(x, 0))
    np.testing.assert_allclose(nn.Sigmoid()(t).data, 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(nn.Tanh()(t).data, np.tanh(x), rtol=1e-12)
    np.testing.assert_allclose(nn.Softmax()(t).data, e / e.sum(1, keepdims=True), rtol=1e-12)
    e0 = np.exp(x - x.max(0, keepdims=True))
    np.testing.assert_allclose(nn.Softmax(dim=0)(t).data, e0 / e0.sum(0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(nn.LogSoftmax(dim=1)(t).data, np.log(e / e.sum(1, keepdims=True)), rtol=1e-12)


def test_flatten_shapes():
    x = tg.zeros(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)


def test_dropout_train_scales_survivors_and_keeps_the_mean():
    tg.manual_seed(0)
    p = 0.3
    drop = nn.Dropout(p)
    x = tg.Tensor(np.full((200, 500), 2.0, dtype=np.float32), requires_grad=True)
    out = drop(x)
    kept = out.data != 0
    assert out.dtype == np.float32
    assert abs(1 - kept.mean() - p) < 0.005  # 1e5 Bernoulli draws: std of the rate ≈ 0.0015
    np.testing.assert_allclose(out.data[kept], 2.0 / (1 - p), rtol=1e-6)
    assert abs(out.data.mean() - 2.0) < 0.02  # inverted dropout: E[out] = x
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / (1 - p), rtol=1e-6)  # gradient flows through the mask


def test_dropout_eval_is_identity_and_masks_are_seeded():
    drop = nn.Dropout(0.5)
    x = tg.rand(10, 10)
    assert drop.eval()(x) is x
    drop.train()
    tg.manual_seed(3)
    a = drop(x).data
    tg.manual_seed(3)
    b = drop(x).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, drop(x).data)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\]"):
        nn.Dropout(p)


def test_dropout_of_one_drops_everything():
    """As torch.nn.Dropout(1.0): zeros, and a zero gradient (not 0 · inf)."""
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    y = nn.Dropout(1.0)(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, np.zeros((2, 3)))
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


def test_a_plain_tensor_cannot_replace_a_parameter():
    """It would silently drop out of parameters() and state_dict(); PyTorch refuses it too."""
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign a Tensor as parameter 'weight'"):
        lin.weight = tg.Tensor(np.zeros((2, 2), np.float32), requires_grad=True)
    lin.weight = nn.Parameter(np.zeros((2, 2), np.float32))  # a Parameter is fine
    lin.bias = None  # and so is None, as in PyTorch
    assert [name for name, _ in lin.named_parameters()] == ["weight"]


def test_module_zero_grad_can_fill_zeros():
    lin = nn.Linear(2, 1)
    lin(tg.Tensor(np.ones((1, 2), np.float32))).sum().backward()
    grad = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is grad and not grad.any()


# ---- losses -------------------------------------------------------------------------------------------
def test_loss_modules_match_numpy_formulas():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    ce = -logp[np.arange(6), y]
    np.testing.assert_allclose(nn.CrossEntropyLoss()(tg.Tensor(z), y).item(), ce.mean(), rtol=1e-12)
    np.testing.assert_allclose(
        nn.CrossEntropyLoss(reduction="sum")(tg.Tensor(z), y).item(), ce.sum(), rtol=1e-12
    )
    np.testing.assert_allclose(nn.CrossEntropyLoss(reduction="none")(tg.Tensor(z), y).data, ce, rtol=1e-12)
    np.testing.assert_allclose(nn.NLLLoss()(tg.Tensor(logp), y).item(), ce.mean(), rtol=1e-12)
    t = rng.random((6, 4))
    np.testing.assert_allclose(nn.MSELoss()(tg.Tensor(z), t).item(), ((z - t) ** 2).mean(), rtol=1e-12)
    p = 1 / (1 + np.exp(-z))
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(nn.BCELoss()(tg.Tensor(p), t).item(), bce.mean(), rtol=1e-10)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(tg.Tensor(z), t).item(), bce.mean(), rtol=1e-10)


def test_loss_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="MSELoss: reduction must be"):
        nn.MSELoss(reduction="average")


# ---- init -------------------------------------------------------------------------------------------
def test_fans_and_gains():
    assert init._calculate_fan_in_and_fan_out(tg.zeros(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(tg.zeros(8, 3, 5, 5)) == (3 * 25, 8 * 25)
    with pytest.raises(ValueError, match=r"fan in and fan out.*\(5,\)"):
        init.kaiming_uniform_(tg.zeros(5))
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / (1 + 0.04))
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")


FAN_IN, FAN_OUT = 300, 500  # tensors of shape (FAN_OUT, FAN_IN): 150,000 samples


@pytest.mark.parametrize(
    ("fn", "kwargs", "std", "bound"),
    [
        (init.kaiming_uniform_, {}, math.sqrt(2 / FAN_IN), math.sqrt(6 / FAN_IN)),
        (
            init.kaiming_uniform_,
            {"mode": "fan_out", "nonlinearity": "relu"},
            math.sqrt(2 / FAN_OUT),
            math.sqrt(6 / FAN_OUT),
        ),
        (init.kaiming_normal_, {}, math.sqrt(2 / FAN_IN), None),
        (init.kaiming_normal_, {"nonlinearity": "tanh"}, (5 / 3) / math.sqrt(FAN_IN), None),
        (init.xavier_uniform_, {}, math.sqrt(2 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT))),
        (init.xavier_normal_, {"gain": 2.0}, 2 * math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    ],
)
def test_init_std_and_bounds_match_the_fan_formulas(fn, kwargs, std, bound):
    w = tg.zeros(FAN_OUT, FAN_IN)
    assert fn(w, generator=np.random.default_rng(0), **kwargs) is w
    # 150,000 samples: the sample std is within ~0.4% of the true one (3 standard errors)
    assert abs(w.data.std() / std - 1) < 0.01
    assert abs(w.data.mean()) < 0.01 * std
    if bound is not None:
        assert np.abs(w.data).max() <= bound
        assert np.abs(w.data).max() > 0.999 * bound


def test_init_generator_argument_and_global_seed_are_reproducible():
    a, b, c = tg.zeros(4, 3), tg.zeros(4, 3), tg.zeros(4, 3)
    init.xavier_uniform_(a, generator=np.random.default_rng(5))
    init.xavier_uniform_(b, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(a.data, b.data)
    tg.manual_seed(9)
    init.kaiming_normal_(a)
    tg.manual_seed(9)
    init.kaiming_normal_(c)
    np.testing.assert_array_equal(a.data, c.data)


def test_constant_inits_and_type_errors():
    w = tg.ones(3, 2)
    init.zeros_(w)
    assert not w.data.any()
    init.ones_(w)
    assert (w.data == 1).all()
    init.constant_(w, 0.5)
    assert (w.data == 0.5).all()
    with pytest.raises(TypeError, match="zeros_: expects a floating-point Tensor or array, got dtype int64"):
        init.zeros_(tg.Tensor(np.zeros(3, dtype=np.int64)))
