"""optim: every update rule checked step by step against PyTorch's published algorithm, written
out below in plain numpy (float64, random gradients); param groups, state dicts, schedules."""

import functools
import math
import tracemalloc

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.optim import lr_scheduler
from tinygrad_edu.optim.lr_scheduler import CosineAnnealingLR, StepLR
from tinygrad_edu.serialization import load, save

SHAPES = [(3, 4), (4,)]
STEPS = 6


def _init_and_grads(seed=0, steps=STEPS, dtype=np.float64):
    rng = np.random.default_rng(seed)
    theta0 = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return theta0, grads


def _run(make_opt, theta0, grads):
    """The library's trajectory: parameters after each step, for the given gradients."""
    params = [nn.Parameter(t.copy()) for t in theta0]
    opt = make_opt(params)
    out = []
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = g.copy()
        opt.step()
        out.append([p.data.copy() for p in params])
    return out


def _check(make_opt, reference, seed=0):
    theta0, grads = _init_and_grads(seed)
    ours = _run(make_opt, theta0, grads)
    for i, t0 in enumerate(theta0):
        expected = list(reference(t0, [gs[i] for gs in grads]))
        assert len(expected) == STEPS
        for step, (mine, theirs) in enumerate(zip([o[i] for o in ours], expected)):
            np.testing.assert_allclose(
                mine, theirs, rtol=1e-12, atol=1e-14, err_msg=f"param {i}, step {step + 1}"
            )


# ---- the published algorithms, in numpy ----------------------------------------------------------------
def sgd_reference(theta, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    b = None
    for g in grads:
        g = g + weight_decay * theta
        if momentum != 0:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        yield theta


def adam_reference(
    theta, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False
):
    beta1, beta2 = betas
    m = v = v_max = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        yield theta


def rmsprop_reference(theta, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    v = g_avg = b = np.zeros_like(theta)
    for g in grads:
        g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g**2
        v_tilde = v
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            v_tilde = v - g_avg**2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (np.sqrt(v_tilde) + eps)
        yield theta


def adagrad_reference(
    theta, grads, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10
):
    state_sum = np.full_like(theta, initial_accumulator_value)
    for t, g in enumerate(grads, start=1):
        lr_t = lr / (1 + (t - 1) * lr_decay)
        g = g + weight_decay * theta
        state_sum = state_sum + g**2
        theta = theta - lr_t * g / (np.sqrt(state_sum) + eps)
        yield theta


def adamax_reference(theta, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    m = u = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        u = np.maximum(beta2 * u, np.abs(g) + eps)
        theta = theta - lr * m / ((1 - beta1**t) * u)
        yield theta


# ---- update rules --------------------------------------------------------------------------------------
SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.1, momentum=0.8, weight_decay=0.05, nesterov=True),
]
ADAM_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, weight_decay=0.1, amsgrad=True),
]
ADAMW_CASES = [dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, amsgrad=True)]  # the second: the default decay
RMSPROP_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, alpha=0.9, weight_decay=0.1),
    dict(lr=0.01, centered=True),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.05),
]
ADAGRAD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, lr_decay=0.2),
    dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5),
    dict(lr=0.1, lr_decay=0.05, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-3),
]
ADAMAX_CASES = [dict(lr=0.01), dict(lr=0.01, betas=(0.8, 0.95), eps=1e-3), dict(lr=0.01, weight_decay=0.1)]
# Each optimizer, its reference above (AdamW's decay defaults to 1e-2, as in PyTorch), its cases.
RULES = [
    (optim.SGD, sgd_reference, SGD_CASES),
    (optim.Adam, adam_reference, ADAM_CASES),
    (optim.AdamW, functools.partial(adam_reference, decoupled=True, weight_decay=1e-2), ADAMW_CASES),
    (optim.RMSprop, rmsprop_reference, RMSPROP_CASES),
    (optim.Adagrad, adagrad_reference, ADAGRAD_CASES),
    (optim.Adamax, adamax_reference, ADAMAX_CASES),
]
RULE_CASES = [(cls, reference, kwargs) for cls, reference, cases in RULES for kwargs in cases]


@pytest.mark.parametrize(
    ("cls", "reference", "kwargs"), RULE_CASES, ids=[f"{c.__name__}-{','.join(k)}" for c, _, k in RULE_CASES]
)
def test_update_rule_matches_the_published_algorithm(cls, reference, kwargs):
    _check(lambda ps: cls(ps, **kwargs), lambda t, gs: reference(t, gs, **kwargs))


def test_adamw_decay_is_decoupled_from_the_gradient_scaling():
    # With g = 0, AdamW's step is the decay alone, θ (1 - lr·λ), whatever the moments are; in
    # Adam the L2 term λθ is the gradient, so it is normalised to a step of lr·sign(θ).
    theta0 = np.array([1.0, -2.0, 4.0])
    cases = [(optim.AdamW, 1e-8, theta0 * (1 - 0.1 * 0.5)), (optim.Adam, 0.0, theta0 - 0.1 * np.sign(theta0))]
    for cls, eps, expected in cases:
        p = nn.Parameter(theta0.copy())
        p.grad = np.zeros(3)
        cls([p], lr=0.1, weight_decay=0.5, eps=eps).step()
        np.testing.assert_allclose(p.data, expected, rtol=1e-12)


def test_adam_first_step_is_lr_times_sign_of_gradient():
    # Bias correction makes m̂₁ = g and v̂₁ = g², so the first step is lr·g/|g| (Kingma & Ba, §3).
    p = nn.Parameter(np.array([3.0, -0.001, 50.0]))
    p.grad = np.array([0.5, -20.0, 1e-3])
    optim.Adam([p], lr=0.01, eps=0.0).step()
    np.testing.assert_allclose(p.data, [3.0 - 0.01, -0.001 + 0.01, 50.0 - 0.01], rtol=1e-12)


def test_centered_rmsprop_stays_finite_under_a_steady_gradient():
    # v - ḡ² = αᵗ(1 - αᵗ) g² for a constant g: positive, but small enough for rounding to push
    # it below 0 within a few hundred steps (PyTorch 2.13 gives NaN here at step 133 in float32).
    g = np.random.default_rng(0).uniform(0.1, 3, 1000).astype(np.float32)
    p = nn.Parameter(np.zeros(1000, dtype=np.float32))
    opt = optim.RMSprop([p], lr=1e-6, alpha=0.9, centered=True)
    for _ in range(200):
        p.grad = g.copy()
        opt.step()
    assert np.isfinite(p.data).all()


def test_adamax_with_zero_gradients_stays_finite():
    # u ≥ ε after a step: a coordinate that never had a gradient moves by 0, not 0/0.
    p = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.Adamax([p])
    for _ in range(3):
        p.grad = np.array([0.0, 1.0])
        opt.step()
    assert p.data[0] == 1.0 and p.data[1] < 2.0


# ---- groups, grads, dtypes -----------------------------------------------------------------------------
GROUP_CASES = {
    # optimizer: (reference, defaults, group 1's own hyperparameters)
    "SGD": (optim.SGD, sgd_reference, dict(lr=0.1, momentum=0.9), dict(lr=0.5, momentum=0.0)),
    "Adam": (optim.Adam, adam_reference, dict(lr=0.01, amsgrad=True), dict(lr=0.05, weight_decay=0.1)),
    "RMSprop": (optim.RMSprop, rmsprop_reference, dict(lr=0.01), dict(alpha=0.9, centered=True)),
    "Adagrad": (
        optim.Adagrad,
        adagrad_reference,
        dict(lr=0.1, lr_decay=0.1),
        dict(weight_decay=0.2, eps=1e-3),
    ),
    "Adamax": (optim.Adamax, adamax_reference, dict(lr=0.01), dict(betas=(0.5, 0.9), weight_decay=0.1)),
}


@pytest.mark.parametrize("name", list(GROUP_CASES))
def test_param_groups_use_their_own_hyperparameters(name):
    cls, reference, defaults, own = GROUP_CASES[name]
    theta0, grads = _init_and_grads(1)
    ours = _run(lambda ps: cls([{"params": [ps[0]]}, {"params": [ps[1]], **own}], **defaults), theta0, grads)
    for i, kwargs in enumerate([defaults, {**defaults, **own}]):
        expected = list(reference(theta0[i], [g[i] for g in grads], **kwargs))
        for step in range(STEPS):
            np.testing.assert_allclose(ours[step][i], expected[step], rtol=1e-12, err_msg=f"group {i}")


def test_add_param_group_fills_defaults_and_rejects_duplicates():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(3))
    opt = optim.Adam([a], lr=0.01)
    opt.add_param_group({"params": b, "lr": 0.1})
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="appears twice"):
        opt.add_param_group({"params": [a]})


def test_parameters_without_grad_are_skipped():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([a, b], lr=1.0, momentum=0.9)
    a.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(a.data, [0.0, 0.0])
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    assert b not in opt.state or not opt.state[b]


def test_zero_grad_sets_none_by_default_or_zeros_in_place():
    a = nn.Parameter(np.ones(3))
    opt = optim.SGD([a], lr=0.1)
    a.grad = np.ones(3)
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and not a.grad.any()
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
        lambda ps: optim.Adam(ps, weight_decay=0.01, amsgrad=True),
        lambda ps: optim.AdamW(ps),
        lambda ps: optim.RMSprop(ps, centered=True, momentum=0.9, weight_decay=0.01),
        lambda ps: optim.Adagrad(ps, lr_decay=0.1, weight_decay=0.01, initial_accumulator_value=0.1),
        lambda ps: optim.Adamax(ps, weight_decay=0.01),
    ],
    ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax"],
)
def test_float32_parameters_are_updated_in_place_and_stay_float32(make):
    theta0, grads = _init_and_grads(2, dtype=np.float32)
    params = [nn.Parameter(t.copy()) for t in theta0]
    arrays = [p.data for p in params]
    opt = make(params)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = g
        opt.step()
    for p, a, t0 in zip(params, arrays, theta0):
        assert p.data is a and p.dtype == np.float32
        assert not np.array_equal(p.data, t0)
        assert all(np.asarray(v).dtype in (np.float32, np.dtype(int)) for v in opt.state[p].values())
    assert all(g.dtype == np.float32 for gs in grads for g in gs)  # gradients were not modified in type


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
        lambda ps: optim.Adam(ps, weight_decay=0.01, amsgrad=True),
        lambda ps: optim.RMSprop(ps, centered=True, momentum=0.9, weight_decay=0.01),
        lambda ps: optim.Adagrad(ps, lr_decay=0.1, weight_decay=0.01),
        lambda ps: optim.Adamax(ps, weight_decay=0.01),
    ],
    ids=["SGD", "Adam", "RMSprop", "Adagrad", "Adamax"],
)
def test_steady_state_step_allocates_no_parameter_sized_arrays(make):
    n = 250_000  # 1 MB of float32
    p = nn.Parameter(np.zeros(n, dtype=np.float32))
    p.grad = np.ones(n, dtype=np.float32)
    opt = make([p])
    opt.step()  # the first step allocates the state and work buffers
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < 4 * n // 10  # far less than one parameter-sized array


def test_step_with_closure_returns_its_loss():
    w = nn.Parameter(np.array([2.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(w.data, [2.0 - 0.25 * 4.0])  # d(w²)/dw = 2w = 4


def test_training_a_linear_model_through_backward_converges():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (x @ np.array([[3.0], [-2.0]]) + 0.5).astype(np.float32)
    tg.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = optim.Adam(model.parameters(), lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        nn.MSELoss()(model(x), y).backward()
        opt.step()
    np.testing.assert_allclose(model.weight.data, [[3.0, -2.0]], atol=1e-2)
    np.testing.assert_allclose(model.bias.data, [0.5], atol=1e-2)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda ps: optim.SGD(ps, lr=-1.0), "SGD: lr must be a finite number >= 0"),
        (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "nesterov momentum needs momentum > 0"),
        (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), r"Adam: betas must be two numbers in \[0, 1\)"),
        (lambda ps: optim.RMSprop(ps, eps=-1e-8), "RMSprop: eps must be a finite number >= 0"),
        (lambda ps: optim.SGD([], lr=0.1), "SGD: got an empty parameter list"),
        (lambda ps: optim.SGD([np.zeros(3)], lr=0.1), "SGD: can only optimize Tensors, got ndarray"),
        (lambda ps: optim.SGD([ps[0], ps[0]], lr=0.1), "appears twice"),
        (lambda ps: optim.SGD([ps[0] * 2], lr=0.1), "cannot optimize a non-leaf tensor"),
        (lambda ps: optim.SGD(ps[0], lr=0.1), "params must be an iterable of Tensors or dicts, got a Tensor"),
        (
            lambda ps: optim.SGD([{"params": ps, "lr": -1.0}], lr=0.1),
            "SGD: lr must be a finite number >= 0, got -1.0",
        ),
        (lambda ps: optim.SGD([{"params": ps, "nesterov": True}]), "nesterov momentum needs momentum > 0"),
        (lambda ps: optim.Adam([{"params": ps, "betas": (0.9, 2.0)}]), "Adam: betas must be two numbers"),
        (
            lambda ps: optim.RMSprop([{"params": ps, "alpha": -1}]),
            "RMSprop: alpha must be a finite number >= 0",
        ),
        (lambda ps: optim.Adagrad(ps, lr_decay=-0.1), "Adagrad: lr_decay must be a finite number >= 0"),
        (
            lambda ps: optim.Adagrad(ps, initial_accumulator_value=-1),
            "Adagrad: initial_accumulator_value must be a finite number >= 0",
        ),
        (lambda ps: optim.Adamax(ps, betas=(1.0, 0.9)), r"Adamax: betas must be two numbers in \[0, 1\)"),
        (lambda ps: optim.Adamax(ps, eps=np.nan), "Adamax: eps must be a finite number >= 0, got nan"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, match):
    ps = [nn.Parameter(np.zeros(3))]
    with pytest.raises((ValueError, TypeError), match=match):
        call(ps)


# ---- state dicts ---------------------------------------------------------------------------------------
RESUME_CASES = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": lambda ps: optim.Adam(
        [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}], lr=0.01, amsgrad=True
    ),
    "AdamW": lambda ps: optim.AdamW(ps, lr=0.01),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.9),
    "Adagrad": lambda ps: optim.Adagrad(
        [{"params": ps[:1], "lr_decay": 0.1}, {"params": ps[1:]}], lr=0.1, initial_accumulator_value=0.1
    ),
    "Adamax": lambda ps: optim.Adamax(ps, lr=0.01, weight_decay=0.01),
}


@pytest.mark.parametrize("name", list(RESUME_CASES))
def test_state_dict_through_a_file_resumes_identically(name, tmp_path):
    make = RESUME_CASES[name]
    theta0, grads = _init_and_grads(3, steps=6)

    def train(params, opt, sched, gradients):
        for gs in gradients:
            for p, g in zip(params, gs):
                p.grad = g.copy()
            opt.step()
            sched.step()

    straight = [nn.Parameter(t.copy()) for t in theta0]
    opt = make(straight)
    train(straight, opt, StepLR(opt, step_size=2, gamma=0.5), grads)

    first = [nn.Parameter(t.copy()) for t in theta0]
    opt = make(first)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    train(first, opt, sched, grads[:3])
    save(opt.state_dict(), tmp_path / "opt.npz")
    save(sched.state_dict(), tmp_path / "sched.npz")

    resumed = [nn.Parameter(p.data.copy()) for p in first]
    opt = make(resumed)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    opt.load_state_dict(load(tmp_path / "opt.npz"))
    sched.load_state_dict(load(tmp_path / "sched.npz"))
    train(resumed, opt, sched, grads[3:])
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_layout_types_and_copies():
    a, b = nn.Parameter(np.zeros((2, 2))), nn.Parameter(np.zeros(3))
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], amsgrad=True)
    a.grad, b.grad = np.ones((2, 2)), np.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    np.testing.assert_array_equal(sd["param_groups.0.params"], [0])
    np.testing.assert_array_equal(sd["param_groups.1.params"], [1])
    assert sd["param_groups.1.lr"] == 0.5 and sd["state.1.step"] == 1
    assert sd["state.0.exp_avg"].shape == (2, 2) and "state.1.max_exp_avg_sq" in sd
    sd["state.0.exp_avg"][:] = 99.0  # a snapshot: the optimizer's buffers are untouched
    assert not (opt.state[a]["exp_avg"] == 99.0).any()

    fresh = optim.Adam([nn.Parameter(np.zeros((2, 2))), nn.Parameter(np.zeros(3))], lr=1.0)
    with pytest.raises(
        ValueError, match=r"has 2 parameter groups \(.param_groups\.\*.\), the optimizer has 1"
    ):
        fresh.load_state_dict(sd)
    c, d = nn.Parameter(np.zeros((2, 2))), nn.Parameter(np.zeros(3))
    fresh = optim.Adam([{"params": [c]}, {"params": [d]}])
    fresh.load_state_dict(opt.state_dict())
    group = fresh.param_groups[1]
    assert group["lr"] == 0.5 and group["betas"] == (0.9, 0.999) and group["amsgrad"] is True
    assert fresh.state[d]["step"] == 1 and isinstance(fresh.state[d]["step"], int)


def test_load_state_dict_rejects_mismatched_shapes_and_unknown_keys():
    a = nn.Parameter(np.zeros(3))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    a.grad = np.ones(3)
    opt.step()
    sd = opt.state_dict()
    other = optim.SGD([nn.Parameter(np.zeros(4))], lr=0.1, momentum=0.9)
    with pytest.raises(
        ValueError, match=r"'state\.0\.momentum_buffer' has shape \(3,\), the parameter \(4,\)"
    ):
        other.load_state_dict(sd)
    with pytest.raises(ValueError, match=r"unexpected key 'weights\.0'"):
        other.load_state_dict({**sd, "weights.0": np.zeros(1)})
    two = optim.SGD([nn.Parameter(np.zeros(3)), nn.Parameter(np.zeros(3))], lr=0.1)
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters, the state dict 1"):
        two.load_state_dict(sd)


# ---- learning-rate schedules ---------------------------------------------------------------------------
def _lrs(make_sched, epochs, base_lrs=(0.1,)):
    opt = optim.SGD([{"params": [nn.Parameter(np.zeros(1))], "lr": lr} for lr in base_lrs], lr=1.0)
    sched = make_sched(opt)
    seen = []
    for _ in range(epochs):
        seen.append(sched.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == seen[-1]
        opt.step()
        sched.step()
    return seen


def test_step_lr_sequence():
    lrs = [lr[0] for lr in _lrs(lambda o: StepLR(o, step_size=3, gamma=0.5), 10)]
    np.testing.assert_allclose(
        lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125], rtol=1e-15
    )


def test_cosine_annealing_sequence_and_two_groups():
    t_max, eta_min = 10, 0.001
    seen = _lrs(lambda o: CosineAnnealingLR(o, T_max=t_max, eta_min=eta_min), 21, base_lrs=(0.1, 0.02))
    for t, lrs in enumerate(seen):
        for lr, base in zip(lrs, (0.1, 0.02)):
            assert lr == pytest.approx(
                eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2, rel=1e-12
            )
    assert seen[0] == pytest.approx([0.1, 0.02]) and seen[10] == pytest.approx([eta_min, eta_min])
    assert seen[5] == pytest.approx([(0.1 + eta_min) / 2, (0.02 + eta_min) / 2])
    assert seen[20] == pytest.approx([0.1, 0.02])  # past T_max the cosine comes back up, as in PyTorch


def test_scheduler_lr_is_the_one_the_optimizer_uses():
    p = nn.Parameter(np.zeros(1))
    opt = optim.SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.1)
    moves = []
    for _ in range(3):
        before = p.data.copy()
        p.grad = np.ones(1)
        opt.step()
        sched.step()
        moves.append(float(before[0] - p.data[0]))
    np.testing.assert_allclose(moves, [1.0, 0.1, 0.01], rtol=1e-12)


# ---- float16 parameters --------------------------------------------------------------------------------
HALF_CASES = {
    "Adam": lambda ps: optim.Adam(ps, lr=1e-2),
    "AdamW": lambda ps: optim.AdamW(ps, lr=1e-2),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=1e-2, centered=True, momentum=0.5),
    "SGD": lambda ps: optim.SGD(ps, lr=1e-2, momentum=0.9),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=1e-1),
    "Adamax": lambda ps: optim.Adamax(ps, lr=1e-2),
}


@pytest.mark.parametrize("name", list(HALF_CASES))
def test_a_float16_model_trains_without_nan(name):
    # A dead ReLU unit gets a zero gradient: in float16, eps = 1e-8 rounds to 0 and Adam's or
    # RMSprop's step became 0/0 = NaN within a few steps (issue 14, item 3).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float16)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]])).astype(np.float16)
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16, dtype=np.float16), nn.ReLU(), nn.Linear(16, 1, dtype=np.float16))
    opt = HALF_CASES[name](model.parameters())
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert np.isfinite(losses).all() and losses[-1] < losses[0] / 4, losses[::10]
    for p in model.parameters():
        assert p.dtype == np.float16 and np.isfinite(p.data).all()
        assert all(np.asarray(v).dtype in (np.float32, np.dtype(int)) for v in opt.state[p].values())


@pytest.mark.parametrize("name", list(HALF_CASES))
def test_float16_update_is_the_float32_update_rounded(name):
    # Each step: the float16 parameter, widened, takes the float32 step with float32 state, then
    # is rounded. The reference runs the same optimizer on float32 copies, rounding by hand.
    theta0, grads = _init_and_grads(4, steps=4, dtype=np.float16)
    for gs in grads:
        gs[0][0] = 0.0  # a zero gradient: eps alone keeps the step finite
    half = [nn.Parameter(t.copy()) for t in theta0]
    wide = [nn.Parameter(t.astype(np.float32)) for t in theta0]
    opt_half, opt_wide = HALF_CASES[name](half), HALF_CASES[name](wide)
    for gs in grads:
        for h, w, g in zip(half, wide, gs):
            h.grad, w.grad = g.copy(), g.astype(np.float32)
        opt_half.step()
        opt_wide.step()
        for h, w in zip(half, wide):
            w.data[...] = w.data.astype(np.float16)  # the rounding the float16 parameter undergoes
            np.testing.assert_array_equal(h.data, w.data.astype(np.float16))
    for h, w in zip(half, wide):
        for key, buf in opt_half.state[h].items():
            np.testing.assert_array_equal(buf, opt_wide.state[w][key])


def test_float16_optimizer_state_dict_round_trip_keeps_float32_state():
    p = nn.Parameter(np.ones(3, dtype=np.float16))
    opt = optim.Adam([p])
    p.grad = np.full(3, 1e-4, dtype=np.float16)
    opt.step()
    sd = opt.state_dict()
    assert sd["state.0.exp_avg_sq"].dtype == np.float32 and sd["state.0.exp_avg_sq"][0] > 0
    fresh = optim.Adam([nn.Parameter(np.ones(3, dtype=np.float16))])
    fresh.load_state_dict(sd)
    assert next(iter(fresh.state.values()))["exp_avg_sq"].dtype == np.float32


# ---- load_state_dict validates before it changes anything ----------------------------------------------
def _stepped(make, shapes=((3,), (2, 2))):
    params = [nn.Parameter(np.ones(s)) for s in shapes]
    opt = make(params)
    for p in params:
        p.grad = np.full(p.shape, 0.5)
    opt.step()
    return opt


def _with(sd, changes):
    """A copy of a state dict with keys replaced (value None: key removed)."""
    out = {k: v for k, v in sd.items() if k not in changes}
    out.update({k: np.asarray(v) for k, v in changes.items() if v is not None})
    return out


ADAM = lambda ps: optim.Adam(ps, lr=0.01)  # noqa: E731
BAD_LOADS = {
    # name: (optimizer the state comes from, edit to its state dict, optimizer loading it, message)
    "Adam state into SGD": (
        ADAM,
        {},
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
        r"SGD\.load_state_dict: 'param_groups\.0\.amsgrad' is not a hyperparameter of SGD",
    ),
    "Adam state into AdamW": (
        ADAM,
        {},
        lambda ps: optim.AdamW(ps),
        r"AdamW\.load_state_dict: param_groups\.0: decoupled_weight_decay must be True",
    ),
    "lr NaN": (
        ADAM,
        {"param_groups.0.lr": np.nan},
        ADAM,
        r"param_groups\.0: lr must be a finite number >= 0, got nan",
    ),
    "lr negative": (
        ADAM,
        {"param_groups.0.lr": -1.0},
        ADAM,
        r"param_groups\.0: lr must be a finite number >= 0",
    ),
    "eps inf": (
        ADAM,
        {"param_groups.0.eps": np.inf},
        ADAM,
        r"param_groups\.0: eps must be a finite number >= 0",
    ),
    "one beta": (ADAM, {"param_groups.0.betas": [0.9]}, ADAM, r"param_groups\.0: betas must be two numbers"),
    "lr missing": (ADAM, {"param_groups.0.lr": None}, ADAM, r"'param_groups\.0\.lr' is missing"),
    "amsgrad without its buffer": (
        ADAM,
        {"param_groups.0.amsgrad": True},
        ADAM,
        r"Adam\.load_state_dict: 'state\.0' holds \['exp_avg', 'exp_avg_sq', 'step'\], but Adam keeps "
        r"\['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step'\]",
    ),
    "step negative": (ADAM, {"state.1.step": -3}, ADAM, r"'state\.1\.step' must be an integer >= 0"),
    "step fractional": (ADAM, {"state.1.step": 2.5}, ADAM, r"'state\.1\.step' must be an integer >= 0"),
    "buffer of text": (
        ADAM,
        {"state.0.exp_avg": ["a", "b", "c"]},
        ADAM,
        r"'state\.0\.exp_avg' has dtype <U1",
    ),
    "buffer shape": (ADAM, {"state.1.exp_avg": np.zeros(4)}, ADAM, r"'state\.1\.exp_avg' has shape \(4,\)"),
    "state of no listed parameter": (
        ADAM,
        {"state.7.step": 3},
        ADAM,
        r"Adam\.load_state_dict: 'state\.7\.\*' is for parameter 7, which no group lists",
    ),
    "param count": (
        ADAM,
        {},
        lambda ps: optim.Adam(ps[:1]),
        r"Adam\.load_state_dict: parameter group 0 has 1 parameters, the state dict 2",
    ),
}


@pytest.mark.parametrize("case", list(BAD_LOADS))
def test_load_state_dict_refuses_a_bad_state_and_changes_nothing(case):
    source, edits, target, match = BAD_LOADS[case]
    sd = _with(_stepped(source).state_dict(), edits)
    opt = _stepped(target)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    assert after.keys() == before.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def test_hyperparameters_must_be_finite_numbers():
    ps = [nn.Parameter(np.zeros(3))]
    for bad in (np.inf, np.nan, "0.1", None, True):
        with pytest.raises(ValueError, match=f"SGD: lr must be a finite number >= 0, got {bad!r}"):
            optim.SGD(ps, lr=bad)
    for betas in (0.9, (0.9,), (0.9, "x"), (0.9, np.nan)):
        with pytest.raises(ValueError, match=r"Adam: betas must be two numbers in \[0, 1\)"):
            optim.Adam(ps, betas=betas)
    with pytest.raises(ValueError, match="AdamW: decoupled_weight_decay must be True"):
        optim.AdamW([{"params": ps, "decoupled_weight_decay": False}])


# The schedules below are checked against PyTorch's recursive definitions (each lr from the
# previous one, as its documentation states them), while the library computes closed forms.
BASES = (0.1, 0.02)


def _recursive(first, update, epochs):
    """lr_0 = first(base); lr_t = update(lr_{t-1}, t): the chainable form, per base lr."""
    out = []
    for base in BASES:
        lrs = [first(base)]
        for t in range(1, epochs):
            lrs.append(update(lrs[-1], t))
        out.append(lrs)
    return [list(col) for col in zip(*out)]


SCHEDULE_CASES = {
    "ExponentialLR": (
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.8),
        _recursive(lambda b: b, lambda lr, t: lr * 0.8, 15),
    ),
    "MultiStepLR": (
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[9, 3, 9], gamma=0.5),  # 9 twice: γ² there
        _recursive(lambda b: b, lambda lr, t: lr * 0.5 ** [3, 9, 9].count(t), 15),
    ),
    "LinearLR": (
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=6),
        _recursive(
            lambda b: b * 0.25,
            lambda lr, t: lr * (1 + 0.5 / (6 * 0.25 + (t - 1) * 0.5)) if t <= 6 else lr,
            15,
        ),
    ),
    "LinearLR defaults": (
        lambda o: lr_scheduler.LinearLR(o),  # 1/3 up to 1 over 5 epochs
        _recursive(
            lambda b: b / 3, lambda lr, t: lr * (1 + (2 / 3) / (5 / 3 + (t - 1) * 2 / 3)) if t <= 5 else lr, 9
        ),
    ),
    "LambdaLR per group": (
        lambda o: lr_scheduler.LambdaLR(o, [lambda t: 1 / (1 + t), lambda t: t % 3]),
        [[0.1 / (1 + t), 0.02 * (t % 3)] for t in range(10)],
    ),
    "SequentialLR": (
        lambda o: lr_scheduler.SequentialLR(
            o,
            [lr_scheduler.LinearLR(o, 0.1, total_iters=4), lr_scheduler.ExponentialLR(o, 0.5)],
            milestones=[4],
        ),
        [[b * (0.1 + 0.9 * t / 4) if t < 4 else b * 0.5 ** (t - 4) for b in BASES] for t in range(10)],
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULE_CASES))
def test_schedule_matches_pytorchs_recursive_definition(name):
    make, expected = SCHEDULE_CASES[name]
    seen = _lrs(make, len(expected), base_lrs=BASES)
    np.testing.assert_allclose(seen, expected, rtol=1e-12, atol=1e-15)


def one_cycle_reference(base_max, total, pct, m_base=0.85, m_max=0.95, div=25.0, final_div=1e4):
    """Smith & Topin's 1cycle with cosine annealing and PyTorch's phase ends (pct·T - 1, T - 1)."""

    def cos_anneal(start, end, p):
        return end + (start - end) * (1 + math.cos(math.pi * p)) / 2

    lo, hi = base_max / div, base_max
    end_warm = pct * total - 1
    for t in range(total):
        if t <= end_warm:
            p = t / end_warm
            yield cos_anneal(lo, hi, p), cos_anneal(m_max, m_base, p)
        else:
            p = (t - end_warm) / (total - 1 - end_warm)
            yield cos_anneal(hi, lo / final_div, p), cos_anneal(m_base, m_max, p)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_one_cycle_lr_and_momentum(opt_name):
    params = [{"params": [nn.Parameter(np.zeros(1))]}, {"params": [nn.Parameter(np.zeros(1))]}]
    opt = (
        optim.SGD(params, lr=1.0, momentum=0.9)
        if opt_name == "SGD"
        else optim.Adam(params, betas=(0.9, 0.99))
    )
    sched = lr_scheduler.OneCycleLR(opt, max_lr=[1.0, 0.4], total_steps=20, pct_start=0.25)
    expected = [list(one_cycle_reference(top, 20, 0.25)) for top in (1.0, 0.4)]
    for t in range(20):
        for g, group in enumerate(opt.param_groups):
            lr, momentum = expected[g][t]
            assert group["lr"] == pytest.approx(lr, rel=1e-12) and sched.get_last_lr()[g] == group["lr"]
            if opt_name == "SGD":
                assert group["momentum"] == pytest.approx(momentum, rel=1e-12)
            else:
                assert group["betas"] == pytest.approx((momentum, 0.99), rel=1e-12)
        opt.step()
        if t < 19:
            sched.step()
    assert expected[0][4][0] == pytest.approx(1.0) and expected[0][19][0] == pytest.approx(1.0 / 25 / 1e4)
    sched.step()  # step total_steps is PyTorch's last allowed one
    with pytest.raises(ValueError, match="OneCycleLR: stepped 21 times, but total_steps is 20"):
        sched.step()


def test_reduce_lr_on_plateau_hand_worked_table():
    # min mode, rel threshold 1e-4, patience 2, cooldown 1, factor 0.5; group 2 floors at 0.3.
    # epoch:   1  2  3    4    5    6        7    8    9    10
    # metric:  5  4  4    4    4    3.9999   4    4    4    4
    # best:    5  4  4    4    4    4        4    4    4    4     (3.9999 is not below 4·(1 - 1e-4))
    # bad:     0  0  1    2    3→cut 0(cool) 1    2    3→cut 0(cool)
    opt = optim.SGD([{"params": [nn.Parameter(np.zeros(1))], "lr": lr} for lr in (1.0, 0.4)])
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=[0.0, 0.3])
    seen = []
    for metric in [5, 4, 4, 4, 4, 3.9999, 4, 4, 4, tg.Tensor(np.array(4.0))]:
        sched.step(metric)
        seen.append(sched.get_last_lr())
    expected = [[1.0, 0.4]] * 4 + [[0.5, 0.3]] * 4 + [[0.25, 0.3]] * 2
    assert seen == expected
    assert sched.best == 4 and sched.last_epoch == 10


def test_reduce_lr_on_plateau_max_mode_absolute_threshold():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(
        opt, mode="max", factor=0.1, patience=0, threshold=0.5, threshold_mode="abs"
    )
    seen = []
    for metric in [1.0, 1.4, 2.0, 2.5]:  # better only when more than 0.5 above the best
        sched.step(metric)
        seen.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(seen, [1.0, 0.1, 0.1, 0.01], rtol=1e-12)


RESUMABLE_SCHEDULES = {
    "StepLR": (lambda o: lr_scheduler.StepLR(o, 3, 0.5), None),
    "MultiStepLR": (lambda o: lr_scheduler.MultiStepLR(o, [2, 7]), None),
    "ExponentialLR": (lambda o: lr_scheduler.ExponentialLR(o, 0.9), None),
    "LambdaLR": (lambda o: lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + t)), None),
    "LinearLR": (lambda o: lr_scheduler.LinearLR(o, 0.2, total_iters=8), None),
    "CosineAnnealingLR": (lambda o: lr_scheduler.CosineAnnealingLR(o, 6, 1e-3), None),
    "OneCycleLR": (lambda o: lr_scheduler.OneCycleLR(o, 0.5, total_steps=12), None),
    "SequentialLR": (
        lambda o: lr_scheduler.SequentialLR(
            o, [lr_scheduler.LinearLR(o, 0.5, total_iters=3), lr_scheduler.StepLR(o, 2)], [4]
        ),
        None,
    ),
    "ReduceLROnPlateau": (
        lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=1, cooldown=1),
        [3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1],
    ),
}


@pytest.mark.parametrize("name", list(RESUMABLE_SCHEDULES))
def test_scheduler_state_dict_through_a_file_resumes_identically(name, tmp_path):
    make, metrics = RESUMABLE_SCHEDULES[name]

    def build():
        opt = optim.SGD([{"params": [nn.Parameter(np.zeros(1))], "lr": lr} for lr in BASES], momentum=0.9)
        return opt, make(opt)

    def run(opt, sched, epochs):
        lrs = []
        for t in epochs:
            opt.step()
            if metrics:
                sched.step(metrics[t])
            else:
                sched.step()
            lrs.append((sched.get_last_lr(), [g["momentum"] for g in opt.param_groups]))
        return lrs

    straight = run(*build(), range(11))
    opt, sched = build()
    first = run(opt, sched, range(5))
    save(opt.state_dict(), tmp_path / "opt.npz")
    save(sched.state_dict(), tmp_path / "sched.npz")
    opt, sched = build()
    opt.load_state_dict(load(tmp_path / "opt.npz"))
    sched.load_state_dict(load(tmp_path / "sched.npz"))
    assert first + run(opt, sched, range(5, 11)) == straight
    assert len({lr[0][0] for lr in straight}) > 2  # the schedule did move


def test_scheduler_load_state_dict_checks_before_changing():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    sched = lr_scheduler.SequentialLR(
        opt, [lr_scheduler.StepLR(opt, 2), lr_scheduler.ExponentialLR(opt, 0.5)], [3]
    )
    for _ in range(4):
        sched.step()
    good = sched.state_dict()
    assert sorted(good) == [
        "_last_lr",
        "_schedulers.0._last_lr",
        "_schedulers.0.base_lrs",
        "_schedulers.0.last_epoch",
        "_schedulers.1._last_lr",
        "_schedulers.1.base_lrs",
        "_schedulers.1.last_epoch",
        "last_epoch",
    ]
    fresh = lr_scheduler.SequentialLR(
        opt, [lr_scheduler.StepLR(opt, 2), lr_scheduler.ExponentialLR(opt, 0.5)], [3]
    )
    before = fresh.state_dict()
    bad_cases = [
        (
            {k: v for k, v in good.items() if k != "_schedulers.1.last_epoch"},
            r"'_schedulers\.1\.last_epoch' is missing",
        ),
        ({**good, "best": np.array(1.0)}, r"'best' is not part of this scheduler's state"),
        (
            {**good, "_schedulers.0.base_lrs": np.zeros(2)},
            r"'_schedulers\.0\.base_lrs' has shape \(2,\), expected \(1,\)",
        ),
        ({**good, "last_epoch": np.array(2.5)}, r"'last_epoch' must hold integers >= 0"),
        (
            {**good, "_schedulers.1.last_epoch": np.array(-4)},
            r"'_schedulers\.1\.last_epoch' must hold integers >= 0",
        ),
        ({**good, "_last_lr": np.array([np.nan])}, r"'_last_lr' must hold numbers \(finite lrs >= 0\)"),
    ]
    for state, match in bad_cases:
        with pytest.raises(ValueError, match=r"SequentialLR\.load_state_dict: " + match):
            fresh.load_state_dict(state)
        after = fresh.state_dict()
        assert all(np.array_equal(after[k], before[k]) for k in before)
    fresh.load_state_dict(good)
    assert fresh._schedulers[1].last_epoch == 1 and fresh.get_last_lr() == sched.get_last_lr()


def _opt():
    return optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: lr_scheduler.StepLR(_opt(), 0),
            ValueError,
            "StepLR: step_size must be an integer >= 1, got 0",
        ),
        (lambda: lr_scheduler.StepLR(object(), 1), TypeError, "StepLR: expected an Optimizer, got object"),
        (
            lambda: lr_scheduler.MultiStepLR(_opt(), [2, -1]),
            ValueError,
            "MultiStepLR: each milestone must be",
        ),
        (
            lambda: lr_scheduler.LinearLR(_opt(), start_factor=0),
            ValueError,
            r"LinearLR: start_factor must be in \(0, 1\]",
        ),
        (
            lambda: lr_scheduler.LinearLR(_opt(), end_factor=1.5),
            ValueError,
            r"LinearLR: end_factor must be in \[0, 1\]",
        ),
        (
            lambda: lr_scheduler.LinearLR(_opt(), total_iters=0),
            ValueError,
            "LinearLR: total_iters must be an integer",
        ),
        (
            lambda: lr_scheduler.LambdaLR(_opt(), [abs, abs]),
            ValueError,
            "LambdaLR: expected 1 values of lr_lambda",
        ),
        (lambda: lr_scheduler.LambdaLR(_opt(), 0.5), TypeError, "LambdaLR: lr_lambda must be a function"),
        (
            lambda: lr_scheduler.ExponentialLR(_opt(), 0.9, last_epoch=3),
            KeyError,
            "needs 'initial_lr' in param_groups",
        ),
        (lambda: lr_scheduler.OneCycleLR(_opt(), 0.1), ValueError, "OneCycleLR: give total_steps, or epochs"),
        (
            lambda: lr_scheduler.OneCycleLR(_opt(), 0.1, 10, pct_start=1.5),
            ValueError,
            r"pct_start must be in \[0, 1\]",
        ),
        (
            lambda: lr_scheduler.OneCycleLR(_opt(), 0.1, 10, pct_start=0.1),
            ValueError,
            "makes a phase of no steps",
        ),
        (
            lambda: lr_scheduler.OneCycleLR(_opt(), 0.1, 10, anneal_strategy="exp"),
            ValueError,
            "'cos' or 'linear'",
        ),
        (
            lambda: lr_scheduler.OneCycleLR(optim.Adagrad([nn.Parameter(np.zeros(1))]), 0.1, 10),
            ValueError,
            "OneCycleLR: cycle_momentum needs an optimizer with momentum or betas",
        ),
        (
            lambda: lr_scheduler.ReduceLROnPlateau(_opt(), factor=1.0),
            ValueError,
            r"factor must be in \[0, 1\)",
        ),
        (
            lambda: lr_scheduler.ReduceLROnPlateau(_opt(), mode="low"),
            ValueError,
            "mode must be 'min' or 'max'",
        ),
        (
            lambda: lr_scheduler.ReduceLROnPlateau(_opt(), min_lr=[0, 0]),
            ValueError,
            "expected 1 values of min_lr",
        ),
        (
            lambda: lr_scheduler.SequentialLR(o := _opt(), [lr_scheduler.ReduceLROnPlateau(o)], []),
            TypeError,
            r"SequentialLR: schedulers\[0\] is a ReduceLROnPlateau",
        ),
        (
            lambda: lr_scheduler.SequentialLR(_opt(), [lr_scheduler.StepLR(_opt(), 2)], []),
            ValueError,
            r"SequentialLR: schedulers\[0\] belongs to another optimizer",
        ),
        (
            lambda: lr_scheduler.SequentialLR(o := _opt(), [lr_scheduler.StepLR(o, 2)], [3]),
            ValueError,
            "SequentialLR: expected 0 milestones for 1 schedulers, got 1",
        ),
    ],
)
def test_scheduler_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_get_last_lr_is_a_copy():
    sched = lr_scheduler.ExponentialLR(_opt(), 0.5)
    sched.get_last_lr()[0] = 99.0
    assert sched.get_last_lr() == [0.1]
