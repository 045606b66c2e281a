"""Make docs/images/training_frame.png, the frame of the training animation that the README shows.

    TINYGRAD_EDU_DATA=<folder holding mnist/> PYTHONPATH=. python scripts/make_animation_frame.py

It trains the first write-up's network as `examples/mnist_mlp.py --preset fullbatch-softmax
--animate training.gif` does (784-10-10, full-batch gradient descent, lr 0.1, 1000 iterations, on
full MNIST) and writes the animation's last frame. `--gif PATH` writes the whole animation too;
`--subset` trains on the bundled subset instead (what the test does, with a few iterations).
BLAS runs on one thread, as in the example.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script, not imported by the tests
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")  # read when numpy is imported: set first

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "examples"))  # the examples are scripts, not a package

import mnist_mlp  # noqa: E402
import numpy as np  # noqa: E402
from mnist_presets import with_overrides  # noqa: E402

PRESET = "fullbatch-softmax"


def training_frame(out: Path, subset: bool = False, iterations: int | None = None, every: int = 100):
    """Train the preset (for `iterations` if given), capturing a frame every `every` steps; write
    the last frame to out/training_frame.png. Returns (the PNG's path, the run's Result)."""
    overrides = {} if iterations is None else {"epochs": iterations}
    cfg = with_overrides(PRESET, **overrides)
    result = mnist_mlp.run(cfg, subset=subset, show_progress=False, animate_every=every)
    return result.animation.save_frame(out / "training_frame.png"), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--gif", type=Path, default=None, help="write the whole animation here too")
    parser.add_argument("--subset", action="store_true", help="the bundled subset, not full MNIST")
    parser.add_argument("--iterations", type=int, default=None, help="default: the preset's 1000")
    parser.add_argument("--every", type=int, default=10, help="a frame every this many iterations")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path, result = training_frame(args.out, args.subset, args.iterations, args.every)
    print(f"wrote {path}")
    if args.gif is not None:
        print(f"wrote {result.animation.save(args.gif)} ({len(result.animation.frames)} frames)")
    print(f"train accuracy {result.train_acc:.2%}, test accuracy {result.test_acc:.2%}, {result.data.source}")
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
