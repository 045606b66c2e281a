import numpy as np

import tinygrad_edu as tg


def hvp(f, x: tg.Tensor, v: np.ndarray) -> np.ndarray:
    """H v, the Hessian of the scalar f at x times v, without forming H: two backward passes."""
    (g,) = tg.grad(f(x), x, create_graph=True)  # ∇f, itself recorded as a graph
    (hv,) = tg.grad((g * tg.Tensor(v)).sum(), x)  # ∇(∇f · v) = H v, since H is symmetric
    return hv.numpy()
