"""ONNX Runtime against tinygrad_edu on the models the tests export: the max relative difference.

    PYTHONPATH=. python benchmarks/onnx_agreement.py

For each model of tests/test_onnx.py (MODELS), the file exported from a batch of 4 is run by ONNX
Runtime on batches of several sizes; the figure is max |ONNX Runtime - tinygrad_edu| over
max |tinygrad_edu| across the batch, in float32. The tests require it to stay <= 1e-5.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_onnx import MODELS, agreement, export

BATCHES = (1, 33, 1000)


def main() -> None:
    print(f"numpy {np.__version__}, onnxruntime {onnxruntime.__version__}")
    print(f"{'model':<12}" + "".join(f"{'batch ' + str(n):>14}" for n in BATCHES))
    with tempfile.TemporaryDirectory() as tmp:
        for name, (make, sample) in MODELS.items():
            model = make()
            path = Path(tmp) / f"{name}.onnx"
            export(model, sample(4, 0), path)
            model.eval()
            print(f"{name:<12}" + "".join(f"{agreement(model, path, sample(n, n)):>14.2e}" for n in BATCHES))


if __name__ == "__main__":
    main()
