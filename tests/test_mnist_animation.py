"""examples/mnist_mlp.py --animate: the training animation (examples/mnist_animation.py).

The GIF is read back with Pillow (frame count, frames that change); the decision regions are
checked against the network written out in numpy at the plane's points built by hand from the
eigenvectors of the covariance matrix; bad targets are refused before any data is loaded."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import mnist_common
import mnist_mlp
import numpy as np
import pytest
from mnist_animation import DecisionRegions, default_every
from PIL import Image

import tinygrad_edu as tg
import tinygrad_edu.functional as F
from tinygrad_edu import nn


def frames_of(path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        out = []
        for i in range(gif.n_frames):
            gif.seek(i)
            out.append(np.asarray(gif.convert("RGB")))
        return out


def test_cli_writes_a_gif_with_a_frame_before_training_and_every_k_steps(tmp_path, capsys):
    path = tmp_path / "out" / "training.gif"  # the folder is created
    argv = ["--subset", "--no-progress", "--hidden", "16", "--epochs", "1", "--batch-size", "500"]
    result = mnist_mlp.main(argv + ["--animate", str(path), "--animate-every", "3"])
    assert f"wrote {path} (4 frames)" in capsys.readouterr().out
    frames = frames_of(path)
    assert len(frames) == 1 + 10 // 3  # 5,000 images in batches of 500: steps 0, 3, 6, 9
    assert len(result.animation.frames) == len(frames)
    # the regions change as the network learns: a sizeable part of the picture, not only the title
    changed = np.mean(np.any(frames[0] != frames[-1], axis=2))
    assert changed > 0.05, changed
    assert all(np.any(a != b) for a, b in itertools.pairwise(frames))
    assert [p.name for p in path.parent.iterdir()] == ["training.gif"]  # no temporary left behind


def test_default_interval_makes_about_100_frames():
    assert default_every(1000) == 10 and default_every(2345) == 23 and default_every(7) == 1


def numpy_mlp(state: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    h = np.maximum(x @ state["0.weight"].T + state["0.bias"], 0)
    return h @ state["2.weight"].T + state["2.bias"]


def test_regions_are_the_networks_classes_at_the_back_projected_grid_points():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6)) + 1.0).astype(np.float32)
    y = rng.integers(0, 10, 300)
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 10))
    model.train()
    rec = DecisionRegions(model, F.cross_entropy, x, y, every=1, grid=7, points=300)
    assert model.training  # scoring a frame leaves the model as it found it
    # the plane by hand: the mean and the top two eigenvectors of the covariance matrix
    xc = x.astype(np.float64) - x.mean(axis=0, dtype=np.float64)
    eigvals, eigvecs = np.linalg.eigh(xc.T @ xc)
    top = eigvecs[:, ::-1][:, :2].T
    np.testing.assert_allclose(np.abs(rec.pca.components), np.abs(top), atol=1e-9)  # up to sign
    np.testing.assert_allclose(rec.pca.explained, eigvals[::-1][:2] / eigvals.sum(), rtol=1e-9)
    # each grid point: the image at mean + u c1 + v c2, u along the columns, v up the rows
    u, v = rec.plane[:, 0].reshape(7, 7), rec.plane[:, 1].reshape(7, 7)
    assert np.all(np.diff(u, axis=1) > 0) and np.all(np.diff(v, axis=0) > 0)
    c1, c2 = rec.pca.components
    points = x.mean(axis=0, dtype=np.float64) + u.reshape(-1, 1) * c1 + v.reshape(-1, 1) * c2
    np.testing.assert_allclose(rec.grid_pixels, points, rtol=1e-5, atol=1e-5)
    by_hand = numpy_mlp(model.state_dict(), points).argmax(axis=1).reshape(7, 7)
    np.testing.assert_array_equal(rec.predict_plane(), by_hand)
    np.testing.assert_array_equal(rec.regions.get_array(), by_hand)  # what the frame shows
    # the title's loss and accuracy are the model's on the training rows
    logits = numpy_mlp(model.state_dict(), x.astype(np.float64))
    shifted = logits - logits.max(axis=1, keepdims=True)
    loss = np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(300), y])
    title = rec.heading.get_text()
    assert f"loss {loss:.3f}, accuracy {np.mean(logits.argmax(1) == y):.1%} on 300 training" in title


def test_steps_between_frames():
    rng = np.random.default_rng(1)
    x, y = rng.random((50, 4)).astype(np.float32), rng.integers(0, 10, 50)
    rec = DecisionRegions(nn.Linear(4, 10), F.cross_entropy, x, y, every=4, grid=4)
    for _ in range(9):
        rec.on_batch(1, 0.0, 0.0)
    assert len(rec.frames) == 3 and "iteration 8 (epoch 1)" in rec.heading.get_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--animate", "training.png"], "name it with .gif"),
        (["--animate", "/tmp"], "name it with .gif"),
        (["--animate", "{tmp}/folder.gif"], "is a folder"),
        (["--animate", "/proc/training.gif"], "cannot create files in /proc"),
        (["--animate", "/etc/hostname/training.gif"], "is a file"),
        (["--animate-every", "5"], "with --animate"),
        (["--animate", "{tmp}/a.gif", "--animate-every", "0"], ">= 1"),
    ],
)
def test_bad_animation_options_are_refused_before_the_data_is_loaded(
    argv, message, tmp_path, capsys, monkeypatch
):
    (tmp_path / "folder.gif").mkdir()
    monkeypatch.setattr(mnist_common, "load_data", lambda *a, **k: pytest.fail("the data was loaded"))
    with pytest.raises(SystemExit):
        mnist_mlp.main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert "error:" in err and message in err, err


def test_without_pillow_the_error_names_the_examples_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL raises ImportError
    monkeypatch.delitem(sys.modules, "mnist_animation")
    monkeypatch.setattr(mnist_common, "load_data", lambda *a, **k: pytest.fail("the data was loaded"))
    with pytest.raises(SystemExit):
        mnist_mlp.main(["--animate", str(tmp_path / "a.gif")])
    err = capsys.readouterr().err
    assert "--animate needs matplotlib and Pillow" in err and ".[examples]" in err, err


def test_the_readme_frame_is_the_animations_last_frame(tmp_path):
    """scripts/make_animation_frame.py, on the subset for a few iterations: the PNG it writes is the
    GIF's last frame, pixel for pixel."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "make_animation_frame.py"
    spec = importlib.util.spec_from_file_location("make_animation_frame", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    png, result = script.training_frame(tmp_path, subset=True, iterations=4, every=2)
    assert len(result.animation.frames) == 3 and "iteration 4:" in result.animation.heading.get_text()
    gif = result.animation.save(tmp_path / "training.gif")
    with Image.open(png) as image:
        assert image.format == "PNG"
        frame = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(frame, frames_of(gif)[-1])
