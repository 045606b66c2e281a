"""A subtly wrong backward rule, and gradcheck catching it.

    python examples/broken_gradient.py      # exit code 0 when the bug is caught

`BrokenSigmoid` is declared through the public op mechanism (`tg.Function`), exactly like the
library's own `Sigmoid`, but its backward returns s where the derivative is s(1 - s). Training
with it would not crash: the loss would still go down for a while, just along the wrong direction.
Finite differences know nothing about the rule, so `tg.gradcheck` flags the op with a report per
input (worst element, both values, relative error), and the element-by-element table below shows
the pattern: analytic / numerical = 1 / (1 - s), the missing factor.
"""

from __future__ import annotations

import sys

import numpy as np

import tinygrad_edu as tg


class BrokenSigmoid(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return 1 / (1 + np.exp(-x))  # fine for the moderate inputs of this demo

    @staticmethod
    def backward(ctx, g):
        """d sigmoid(x)/dx = s   (WRONG: the derivative is s(1-s))"""
        return g * ctx.output


def broken_sigmoid(x: tg.Tensor) -> tg.Tensor:
    return BrokenSigmoid.apply(x)


def element_table(fn, x: tg.Tensor) -> str:
    """analytic (backward) vs numerical (central differences) for every element of x."""
    x = tg.Tensor(np.array(x.data, dtype=np.float64), requires_grad=True)
    fn(x).sum().backward()
    (numerical,) = tg.numerical_grad(lambda x: fn(x).sum(), [x], eps=1e-6)
    lines = [f"{'x':>8}  {'analytic':>10}  {'numerical':>10}  {'ratio':>7}  {'1/(1-s)':>7}"]
    for xi, a, n in zip(x.data.ravel(), x.grad.ravel(), numerical.ravel()):
        s = 1 / (1 + np.exp(-xi))
        lines.append(f"{xi:8.3f}  {a:10.6f}  {n:10.6f}  {a / n:7.3f}  {1 / (1 - s):7.3f}")
    return "\n".join(lines)


def catch(x: tg.Tensor) -> tg.GradcheckError | None:
    """The error gradcheck raises for BrokenSigmoid at x (None if it passes)."""
    try:
        tg.gradcheck(broken_sigmoid, [x])
    except tg.GradcheckError as e:
        return e
    return None


def main() -> int:
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)

    error = catch(x)
    print("gradcheck(BrokenSigmoid):")
    print(error if error else "passed (the bug was NOT caught)")
    print("\nelement by element:")
    print(element_table(broken_sigmoid, x))

    print("\nthe library's Sigmoid, same inputs: gradcheck ->", tg.gradcheck(lambda x: x.sigmoid(), [x]))
    # NOTE: where s -> 0 (x << 0), s(1-s) ≈ s: the wrong rule is right to 9 digits at x = -20.
    # A check only there would pass; checks need inputs where the derivative is not degenerate.
    far_left = tg.Tensor(np.full((2, 3), -20.0), requires_grad=True)
    print("gradcheck(BrokenSigmoid) only at x = -20:", "caught" if catch(far_left) else "passes (!)")
    return 0 if error else 1


if __name__ == "__main__":
    sys.exit(main())
