"""Runnable experiments on the library's numerics (plots through tinygrad_edu.plot, with matplotlib).

- `python -m tinygrad_edu.experiments.gradcheck`: the finite-difference eps sweep
  (relative error of numerical vs analytic gradients, forward and central, float32 and float64).
- `python -m tinygrad_edu.experiments.modes`: the cost of a full Jacobian by forward mode (one
  JVP per input) and by reverse mode (one VJP per output) as inputs and outputs grow.
"""
