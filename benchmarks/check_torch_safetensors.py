"""Checkpoints both ways between tinygrad_edu and PyTorch through .safetensors, with real torch.

Not part of the test suite (torch is not a dependency; CI checks the format with safetensors.numpy
alone). Run it with a Python that has torch, safetensors and tinygrad_edu importable, e.g.

    PYTHONPATH=. python benchmarks/check_torch_safetensors.py

On the bundled MNIST subset it
  1. trains the MNIST MLP here for one epoch, saves it with tg.save("….safetensors"), loads it
     into the same torch.nn.Sequential with safetensors.torch.load_file + load_state_dict(strict=True),
     and compares the two libraries' logits on the 1,000 test images;
  2. trains that torch model one more epoch, saves it with safetensors.torch.save_file, loads it
     here with tg.load + load_state_dict, and compares again;
  3. shows that tg.load refuses torch.save's pickle, and that the conversion its message gives works.
It prints whether the parameters arrive bit for bit, the largest logit difference (the two
libraries' float32 matmuls round differently) and the test accuracy on both sides.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import safetensors.torch
import torch

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader, flatten, load_mnist_subset, to_float

HIDDEN = 128


def tg_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))


def torch_mlp() -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10)
    )


def compare(
    what: str, ours: tg.nn.Module, theirs: torch.nn.Module, X: np.ndarray, labels: np.ndarray
) -> None:
    """Parameters bit for bit (what the file carried), then the logits (what each library computes)."""
    identical = all(
        np.array_equal(a.data, b.detach().numpy()) for a, b in zip(ours.parameters(), theirs.parameters())
    )
    with torch.no_grad():
        expected = theirs(torch.from_numpy(X)).numpy()
    got = ours(tg.Tensor(X)).data
    diff = np.abs(got - expected).max()
    print(
        f"{what}: parameters bit-identical {identical}; max |Δlogit| {diff:.3g} "
        f"({diff / np.abs(expected).max():.2g} of the largest |logit|); argmax agrees on "
        f"{(got.argmax(1) == expected.argmax(1)).mean():.2%}; test accuracy tinygrad_edu "
        f"{(got.argmax(1) == labels).mean():.2%}, torch {(expected.argmax(1) == labels).mean():.2%}"
    )


def main() -> None:
    tg.manual_seed(0)
    torch.manual_seed(0)
    mnist = load_mnist_subset()
    X, y = flatten(to_float(mnist.train_images)), mnist.train_labels
    X_test = flatten(to_float(mnist.test_images))
    folder = Path(tempfile.mkdtemp(prefix="tg_torch_"))

    # 1. train here, continue in PyTorch
    model = tg_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for xb, yb in DataLoader((X, y), batch_size=64, shuffle=True, seed=0):
        opt.zero_grad()
        loss = tg.nn.CrossEntropyLoss()(model(tg.Tensor(xb)), yb)
        loss.backward()
        opt.step()
    ours_path = folder / "from_tinygrad_edu.safetensors"
    tg.save(model.state_dict(), ours_path)
    tmodel = torch_mlp()
    state = safetensors.torch.load_file(ours_path)
    print("keys written here:", {k: (tuple(v.shape), str(v.dtype)) for k, v in state.items()})
    tmodel.load_state_dict(state, strict=True)
    compare("tinygrad_edu → torch", model, tmodel, X_test, mnist.test_labels)

    # 2. train in PyTorch, continue here
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    for xb, yb in DataLoader((X, y), batch_size=64, shuffle=True, seed=1):
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
        topt.step()
    torch_path = folder / "from_torch.safetensors"
    safetensors.torch.save_file(tmodel.state_dict(), torch_path)
    back = tg_mlp()
    back.load_state_dict(tg.load(torch_path))
    compare("torch → tinygrad_edu", back, tmodel, X_test, mnist.test_labels)

    # 3. torch.save's pickle is refused; the conversion the message gives works
    pickle_path = folder / "model.pt"
    torch.save(tmodel.state_dict(), pickle_path)
    try:
        tg.load(pickle_path)
    except ValueError as e:
        print("tg.load(torch.save file) refuses:", str(e).splitlines()[0])
    converted = folder / "model.safetensors"
    pickled = torch.load(pickle_path, weights_only=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in pickled.items()}, converted)
    again = tg_mlp()
    again.load_state_dict(tg.load(converted))
    same = all(np.array_equal(a.data, b.data) for a, b in zip(again.parameters(), back.parameters()))
    print("converted with the message's recipe, loads here with identical parameters:", same)
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
