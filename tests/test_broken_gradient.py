"""examples/broken_gradient.py: gradcheck catches a backward rule that returns s, not s(1-s)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "broken_gradient.py"


def _load():
    spec = importlib.util.spec_from_file_location("broken_gradient", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gradcheck_flags_the_wrong_rule_with_its_report():
    demo = _load()
    x = tg.Tensor(np.random.default_rng(3).standard_normal((3, 2)), requires_grad=True)
    error = demo.catch(x)
    assert isinstance(error, tg.GradcheckError)
    report = str(error)
    m = re.search(
        r"input 0 \(shape \(3, 2\)\): worst element \((\d+), (\d+)\): "
        r"analytic (\S+), numerical (\S+), relative error (\S+)",
        report,
    )
    assert m, report
    k, (analytic, numerical, rel) = (int(m[1]), int(m[2])), (float(v) for v in m.groups()[2:])
    # whatever upstream gradient gradcheck projects on, at element k the wrong rule gives s where
    # the truth is s(1-s): their ratio is 1/(1-s)
    s = 1 / (1 + np.exp(-x.data[k]))
    assert analytic / numerical == pytest.approx(1 / (1 - s), rel=1e-6)
    assert rel == pytest.approx(abs(analytic - numerical) / max(abs(analytic), abs(numerical)), rel=1e-2)


def test_per_element_table_shows_the_missing_factor():
    demo = _load()
    x = tg.Tensor(np.array([[-1.0, 0.0, 2.0]]), requires_grad=True)
    lines = demo.element_table(demo.broken_sigmoid, x).splitlines()[1:]
    for xi, line in zip([-1.0, 0.0, 2.0], lines):
        s = 1 / (1 + np.exp(-xi))
        _, analytic, numerical, ratio, _ = (float(v) for v in line.split())
        assert analytic == np.round(s, 6) and numerical == np.round(s * (1 - s), 6)
        assert ratio == np.round(1 / (1 - s), 3)


def test_the_correct_rule_passes_so_the_check_can_tell():
    x = tg.Tensor(np.random.default_rng(3).standard_normal((3, 2)), requires_grad=True)
    assert tg.gradcheck(lambda x: x.sigmoid(), [x])
    assert _load().catch(x) is not None


def test_script_exits_0_when_caught():
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "gradcheck: analytic and numerical gradients differ" in done.stdout
    assert "relative error" in done.stdout
