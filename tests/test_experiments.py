"""The eps sweep: the V shape of finite-difference error, and the CSV and plot it writes."""

from __future__ import annotations

import csv
import sys

import numpy as np
import pytest

from tinygrad_edu.experiments import gradcheck as exp
from tinygrad_edu.experiments import modes


def _errors(rows, dtype, method):
    return {r.eps: r.rel_error for r in rows if r.dtype == dtype and r.method == method}


@pytest.fixture(scope="module")
def small_net_rows():
    (case,) = [c for c in exp.network_cases(n_in=32, m=8) if c.name.startswith("sigmoid")]
    return exp.sweep_case(case)


def test_float64_central_differences_make_a_v(small_net_rows):
    err = _errors(small_net_rows, "float64", "central")
    best = min(err.values())
    assert best <= 1e-3 * err[1e-1]  # truncation error dominates at large eps
    assert best <= 1e-3 * err[1e-12]  # round-off dominates at tiny eps
    assert best < 1e-8


@pytest.mark.parametrize(
    ("dtype", "method", "lo", "hi"),
    [  # theory: best eps ≈ √u (forward) or ∛u (central), u = 6e-8 (float32), 1.1e-16 (float64)
        ("float64", "forward", 1e-10, 1e-6),
        ("float64", "central", 1e-8, 1e-4),
        ("float32", "forward", 1e-6, 1e-2),
        ("float32", "central", 1e-5, 1e-1),
    ],
)
def test_best_eps_where_the_theory_puts_it(small_net_rows, dtype, method, lo, hi):
    best = exp.best_eps(small_net_rows)[(small_net_rows[0].case, dtype, method)]
    assert lo <= best.eps <= hi


def test_quadratic_has_exact_central_differences():
    # L(θ) = Σ θ²: along any line, L(t) is a parabola, so central differences have no truncation
    # error at all while forward differences are off by ε‖d‖² (relative error grows with ε).
    theta = np.random.default_rng(1).standard_normal((5, 4))
    case = exp.Case("quadratic", "network", lambda w: (w * w).sum(), (theta,))
    rows = exp.sweep_case(case, dtypes=("float64",), eps_values=(1e-1, 1e-3, 1e-4))
    central, forward = _errors(rows, "float64", "central"), _errors(rows, "float64", "forward")
    assert central[1e-1] < 1e-12
    assert forward[1e-1] > 1e-3
    assert forward[1e-4] == pytest.approx(forward[1e-3] / 10, rel=0.05)  # O(ε)


def test_op_cases_check_every_element():
    (tanh,) = [c for c in exp.op_cases() if c.name == "Tanh"]
    rows = exp.sweep_case(tanh, dtypes=("float64",), methods=("central",), eps_values=(1e-5,))
    assert rows[0].rel_error < 1e-9
    assert rows[0].kind == "op"


def test_relative_error_by_hand():
    assert exp.relative_error(np.array([3.0, 4.0]), np.array([3.0, 4.0])) == 0.0
    assert exp.relative_error(np.array([3.0, 4.0]), np.array([0.0, 0.0])) == 1.0
    assert exp.relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert exp.relative_error(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(np.sqrt(5) / 2)


def test_cli_writes_csv_and_png(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert exp.main(["--out", str(out), "--quick"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["gradcheck_sweep.csv", "gradcheck_sweep.png"]
    with open(out / "gradcheck_sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == ("case", "kind", "dtype", "method", "eps", "rel_error")
    cases = {r["case"] for r in rows}
    assert len(rows) == len(cases) * 2 * 2 * 12
    assert {"Tanh", "MatMul", "CrossEntropy", "ReLU/softmax + cross-entropy 64-10-10"} <= cases
    assert {float(r["eps"]) for r in rows} == {10.0**-k for k in range(1, 13)}
    assert all(0 <= float(r["rel_error"]) <= 2 for r in rows)
    png = (out / "gradcheck_sweep.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    printed = capsys.readouterr().out
    assert "best eps" in printed and "sigmoid + squared error 64-10-10" in printed


def test_plot_without_matplotlib_returns_none(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    rows = [exp.SweepRow("x", "op", "float64", "central", 1e-1, 1e-3)]
    assert exp.plot(rows, tmp_path / "p.png") is None
    assert not list(tmp_path.iterdir())


def test_cli_without_matplotlib_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert modes.main(["--out", str(tmp_path), "--quick"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["modes.csv"]
    assert 'the "examples" extra' in capsys.readouterr().out


# ---- forward vs reverse mode --------------------------------------------------------------------
def test_modes_cli_writes_csv_and_png(tmp_path, capsys):
    assert modes.main(["--out", str(tmp_path), "--quick"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["modes.csv", "modes.png"]
    with open(tmp_path / "modes.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == ("sweep", "n_inputs", "n_outputs", "mode", "f_calls", "cpu_seconds", "max_error")
    jacobians = [r for r in rows if r["mode"] in ("forward mode", "reverse mode")]
    assert len(jacobians) == 2 * 2 * 3  # two sweeps of sizes 1, 2, 4, both modes
    for r in jacobians:
        n, m = int(r["n_inputs"]), int(r["n_outputs"])
        # one JVP per input or one VJP per output, plus the evaluation that finds the output's shape
        assert int(r["f_calls"]) == (n if r["mode"] == "forward mode" else m) + 1
        assert float(r["max_error"]) < 1e-12  # against W2 diag(1 - tanh²) W1 by hand
    sizes = {(r["sweep"], int(r["n_inputs"]), int(r["n_outputs"])) for r in jacobians}
    assert sizes == {("inputs grow", k, 1) for k in (1, 2, 4)} | {("outputs grow", 1, k) for k in (1, 2, 4)}
    (scalar,) = {r["sweep"] for r in rows} - {"inputs grow", "outputs grow"}
    n_params = 16 * 8 + 8 + 8 * 4 + 4  # the quick 16-8-4 MLP
    assert {(r["mode"], int(r["n_inputs"])) for r in rows if r["sweep"] == scalar} == {
        (mode, n_params) for mode in ("forward pass", "VJP", "JVP")
    }
    assert all(float(r["cpu_seconds"]) >= 0 for r in rows)
    png = (tmp_path / "modes.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    printed = capsys.readouterr().out
    assert f"would take {n_params} JVPs" in printed and "wrote" in printed


def test_modes_repeats_must_be_positive(tmp_path):
    with pytest.raises(SystemExit):
        modes.main(["--out", str(tmp_path), "--repeats", "0"])
    assert not list(tmp_path.iterdir())
