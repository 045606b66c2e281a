"""Runnable experiments on the library's numerics.

- `python -m tinygrad_edu.experiments.gradcheck`: the finite-difference eps sweep
  (relative error of numerical vs analytic gradients, forward and central, float32 and float64).
"""
