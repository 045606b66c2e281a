"""examples/mnist_mlp.py end to end: training on the bundled subset, --save, --plots, the presets,
the offline fallback, and (with $TINYGRAD_EDU_DATA) one epoch of the default MLP on full MNIST."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import mnist_common
import mnist_mlp
import mnist_plots
import numpy as np
import pytest
from mnist_presets import PRESETS, with_overrides

import tinygrad_edu as tg
from tinygrad_edu.data import download

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One run of the CLI on the bundled subset, with --save and --plots (shared by several tests)."""
    out = tmp_path_factory.mktemp("mnist_example")
    argv = ["--subset", "--no-download", "--no-progress", "--save", str(out / "model.npz")]
    result = mnist_mlp.main(argv + ["--plots", str(out / "plots")])
    return result, out


def numpy_forward(state: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The default MLP written out in numpy: relu(x W1ᵀ + b1) → relu(· W2ᵀ + b2) → · W3ᵀ + b3."""
    h = x
    for name in ("hidden.0", "hidden.2"):
        h = np.maximum(h @ state[f"{name}.weight"].T + state[f"{name}.bias"], 0)
    return h @ state["out.weight"].T + state["out.bias"]


# ---- training on the bundled subset ---------------------------------------------------------
def test_subset_run_reaches_90_percent_and_reports_the_true_accuracy(trained):
    result, _ = trained
    assert len(result.data.x_train) == 5000 and len(result.data.x_test) == 1000
    assert result.test_acc >= 0.90
    x = result.data.x_test.astype(np.float64) / 255
    by_hand = numpy_forward(result.model.state_dict(), x).argmax(axis=1)
    assert result.test_acc == pytest.approx(np.mean(by_hand == result.data.y_test), abs=1e-3)
    assert result.history.epoch == list(range(1, PRESETS["default"].epochs + 1))
    assert result.history.test_acc[-1] == result.test_acc


def test_run_prints_epoch_lines_and_a_final_summary(capsys):
    mnist_mlp.main(["--subset", "--no-progress", "--epochs", "2", "--hidden", "32"])
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out
    summary = out[out.index("RESULT") :]
    assert "test accuracy" in summary and "wall time" in summary and "since the process started" in summary


def test_same_seed_same_weights():
    cfg = with_overrides("default", epochs=1, hidden=(16,), dropout=0.2)
    a, b = (mnist_mlp.run(cfg, subset=True, show_progress=False) for _ in range(2))
    for key, value in a.model.state_dict().items():
        np.testing.assert_array_equal(value, b.model.state_dict()[key])


# ---- --save ----------------------------------------------------------------------------------
def test_save_writes_npz_and_json_that_rebuild_an_identical_model(trained):
    result, out = trained
    path = out / "model.npz"
    with np.load(path, allow_pickle=False) as z:  # a plain .npz: no pickle needed
        assert sorted(z.files) == sorted(result.model.state_dict())
    meta = json.loads((out / "model.json").read_text())
    assert meta["config"]["hidden"] == list(result.config.hidden)
    model, cfg = mnist_mlp.load_model(path)
    assert cfg == result.config
    for key, value in tg.load(path).items():
        np.testing.assert_array_equal(value, result.model.state_dict()[key])
    x = result.data.x_test[:200]
    np.testing.assert_array_equal(
        model(mnist_common.inputs(x)).data, result.model(mnist_common.inputs(x)).data
    )


def test_load_model_without_its_json_says_what_is_missing(tmp_path):
    tg.save({"out.weight": np.zeros((10, 784), np.float32)}, tmp_path / "w.npz")
    with pytest.raises(ValueError, match=r"w\.json"):
        mnist_mlp.load_model(tmp_path / "w.npz")


# ---- --plots ---------------------------------------------------------------------------------
def test_plots_are_four_png_files(trained):
    _, out = trained
    for name in ("curves.png", "confusion.png", "misclassified.png", "pca.png"):
        data = (out / "plots" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, name
    assert not [p for p in (out / "plots").iterdir() if p.name.endswith(".part")]


def test_confusion_matrix_counts_each_pair():
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 2])
    expected = np.zeros((3, 3), dtype=int)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    np.testing.assert_array_equal(mnist_plots.confusion_matrix(y_true, y_pred, classes=3), expected)


def test_pca_matches_the_covariance_eigenvectors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6)) + 3.0
    coords, explained = mnist_plots.pca_2d(x)
    xc = x - x.mean(axis=0)
    eigvals, eigvecs = np.linalg.eigh(xc.T @ xc)  # ascending
    top = eigvecs[:, ::-1][:, :2]
    np.testing.assert_allclose(np.abs(coords), np.abs(xc @ top), atol=1e-9)  # up to each axis' sign
    np.testing.assert_allclose(explained, eigvals[::-1][:2] / eigvals.sum(), rtol=1e-9)


# ---- losses and init -------------------------------------------------------------------------
def _grad_of(loss_fn, z0: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    z = tg.Tensor(z0, requires_grad=True)
    loss = loss_fn(z, y)
    loss.backward()
    return loss.item(), z.grad


def test_losses_are_the_write_ups_per_sample_sums():
    rng = np.random.default_rng(1)
    z0, y = rng.standard_normal((5, 10)), rng.integers(0, 10, 5)
    t = np.eye(10)[y]
    a = 1 / (1 + np.exp(-z0))
    bce = with_overrides("default", loss="bce")
    value, grad = _grad_of(mnist_mlp.make_loss(bce), z0, y)
    assert value == pytest.approx(-np.sum(t * np.log(a) + (1 - t) * np.log(1 - a)) / 5)
    np.testing.assert_allclose(grad, (a - t) / 5, atol=1e-12)  # the write-ups' dZ2 = A2 - Y, over m
    mse = with_overrides("mse-16-16")
    value, grad = _grad_of(mnist_mlp.make_loss(mse), z0, y)
    assert value == pytest.approx(0.5 * np.sum((a - t) ** 2) / 5)
    np.testing.assert_allclose(grad, (a - t) * a * (1 - a) / 5, atol=1e-12)


@pytest.mark.parametrize(
    ("scheme", "weight_bound", "weight_std"),
    [
        ("uniform", 0.5, 1 / np.sqrt(12)),
        ("kaiming", np.sqrt(6 / 784), np.sqrt(2 / 784)),
        ("xavier_normal", None, np.sqrt(2 / (784 + 300))),
        ("nielsen", None, 1 / np.sqrt(784)),
    ],
)
def test_init_schemes_follow_their_formulas(scheme, weight_bound, weight_std):
    layer = tg.nn.Linear(784, 300)
    tg.manual_seed(0)
    mnist_mlp.init_linear(layer, scheme)
    w = layer.weight.data
    if weight_bound is not None:
        assert np.abs(w).max() <= weight_bound
    assert w.std() == pytest.approx(weight_std, rel=0.02)


# ---- presets and options ---------------------------------------------------------------------
def test_preset_2_is_16_16_mse_kaiming_xavier():
    cfg, _ = mnist_mlp.parse_args(["--preset", "mse-16-16"])
    assert cfg.hidden == (16, 16) and cfg.activation == "relu"
    assert (cfg.loss, cfg.output_activation) == ("mse", "sigmoid")
    assert cfg.layer_inits() == ("kaiming_normal", "kaiming_normal", "xavier_normal")
    assert (cfg.optimizer, cfg.batch_size, cfg.epochs) == ("sgd", 32, 100)
    model = mnist_mlp.build_model(cfg)
    assert [layer.weight.shape for layer in model.linears()] == [(16, 784), (16, 16), (10, 16)]


def test_full_batch_presets():
    for name, loss in (("fullbatch-sigmoid", "bce"), ("fullbatch-softmax", "cross_entropy")):
        cfg, _ = mnist_mlp.parse_args(["--preset", name])
        assert cfg.full_batch and cfg.epochs == 1000 and cfg.hidden == (10,) and cfg.loss == loss
    cfg, _ = mnist_mlp.parse_args(["--preset", "fullbatch-softmax", "--iterations", "7"])
    assert cfg.epochs == 7


def test_explicit_options_override_the_preset():
    argv = ["--preset", "nielsen", "--hidden", "64,32", "--optimizer", "adam", "--lr", "0.002"]
    cfg, _ = mnist_mlp.parse_args(argv + ["--betas", "0.8,0.99", "--batch-size", "full"])
    assert cfg.hidden == (64, 32) and cfg.optimizer == "adam" and cfg.lr == 0.002
    assert cfg.betas == (0.8, 0.99) and cfg.full_batch
    assert cfg.init == PRESETS["nielsen"].init and cfg.loss == "cross_entropy"
    cfg, _ = mnist_mlp.parse_args(["--preset", "mse-16-16", "--loss", "cross_entropy"])
    assert cfg.output_activation == "softmax"  # the output the new loss needs


@pytest.mark.parametrize(
    "argv",
    [
        ["--preset", "nielsen", "--iterations", "5"],  # not full-batch
        ["--preset", "mse-16-16", "--hidden", "32"],  # three init schemes for two layers
        ["--loss", "bce", "--output-activation", "softmax"],
        ["--momentum", "0.9"],  # the default optimizer is Adam
        ["--hidden", "256,x"],
        ["--preset", "nope"],
        ["--optimizer", "sgd", "--nesterov"],  # nesterov needs momentum > 0 (the optimizer says so)
        ["--optimizer", "sgd", "--momentum", "-1"],
        ["--betas", "0.9,1.5"],
        ["--weight-decay", "-1"],
        ["--lr", "inf"],
        ["--step-size", "2"],  # only the step schedule uses it; the default is cosine
        ["--gamma", "0.1"],
        ["--dropout", "0.5", "--hidden", "none"],  # no hidden layer to drop from
        ["--save", "model.json"],  # the architecture file's name: refused before training, not after
        ["--schedule", "step", "--gamma", "-1"],  # would make the learning rate negative
        ["--schedule", "step", "--gamma", "nan"],
        ["--weight-decay", "inf"],
        ["--seed", str(2**64)],  # PyTorch's range is [-2**63, 2**64): refused before the data loads
        ["--save", "/proc/model.npz"],  # nothing can be created there, not even by root
        ["--save", "/etc/hostname/model.npz"],  # under a regular file
        ["--save", "/tmp"],  # a folder, not a weights file
        ["--plots", "/etc/hostname"],  # a file, not a folder
    ],
)
def test_inconsistent_options_are_rejected(argv, capsys):
    with pytest.raises(SystemExit):
        mnist_mlp.parse_args(argv)
    assert "error:" in capsys.readouterr().err


# ---- no data, no network ---------------------------------------------------------------------
@pytest.fixture
def no_mnist_anywhere(tmp_path, monkeypatch):
    """An empty data folder, an empty home (so an empty cache) and no $TINYGRAD_EDU_DATA."""
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_data_and_no_download_falls_back_to_the_subset_loudly(no_mnist_anywhere, capsys):
    mnist = mnist_common.load_data(no_mnist_anywhere, download=False)
    assert mnist.source.startswith("bundled subset")
    err = capsys.readouterr().err
    assert "WARNING: MNIST was not found" in err and "--no-download" in err and "FALLING BACK" in err


def test_unreachable_mirrors_fall_back_to_the_subset_loudly(no_mnist_anywhere, monkeypatch, capsys):
    monkeypatch.setattr(download, "MIRRORS", (f"http://127.0.0.1:{_closed_port()}/",))
    mnist = mnist_common.load_data(no_mnist_anywhere, download=True)
    assert mnist.source.startswith("bundled subset")
    err = capsys.readouterr().err
    assert "could not be downloaded" in err and "127.0.0.1" in err and "FALLING BACK" in err
    cache = Path(os.environ["HOME"]) / ".cache" / "tinygrad_edu" / "mnist"
    assert not any(cache.iterdir())  # no half-downloaded file left behind


def test_a_cache_folder_that_cannot_be_made_falls_back_to_the_subset(no_mnist_anywhere, capsys):
    """HOME is a file, so ~/.cache/... cannot be created: no mirror is asked, the run goes on."""
    home = Path(os.environ["HOME"])
    home.write_text("not a folder")
    mnist = mnist_common.load_data(no_mnist_anywhere, download=True)
    assert mnist.source.startswith("bundled subset")
    err = capsys.readouterr().err
    assert "cannot download into" in err and str(home) in err and "fetching" not in err


def test_command_line_fallback_end_to_end(no_mnist_anywhere):
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAD_EDU_DATA"}
    cmd = [sys.executable, str(EXAMPLES / "mnist_mlp.py"), "--data-dir", str(no_mnist_anywhere)]
    cmd += ["--no-download", "--epochs", "1", "--hidden", "32"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "FALLING BACK" in done.stderr
    summary = done.stdout[done.stdout.index("RESULT") :]
    assert "on 5,000 training and 1,000 test images" in summary


# ---- full MNIST ------------------------------------------------------------------------------
@pytest.mark.skipif(not os.environ.get("TINYGRAD_EDU_DATA"), reason="TINYGRAD_EDU_DATA is not set")
def test_default_mlp_one_epoch_on_full_mnist_reaches_96_percent():
    cfg = with_overrides("default", epochs=1)
    result = mnist_mlp.run(cfg, download=False, show_progress=False)
    assert len(result.data.x_train) == 60_000 and len(result.data.x_test) == 10_000, result.data.source
    assert result.test_acc >= 0.96


def test_a_nan_loss_stops_the_run_with_an_error_and_saves_nothing(tmp_path):
    """--lr 1e308 is finite, so it is accepted; the loss becomes NaN within a step or two, and the
    run must stop with a non-zero status instead of reporting 10% accuracy, leaving a previous
    checkpoint at the --save path as it was."""
    good = tmp_path / "model.npz"
    good.write_bytes(b"a good model")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "mnist_mlp.py"), "--subset", "--epochs", "1", "--no-progress",
         "--optimizer", "sgd", "--lr", "1e308", "--save", str(good)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert "the loss became" in done.stderr and "epoch 1, batch" in done.stderr
    assert "RESULT" not in done.stdout
    assert good.read_bytes() == b"a good model" and not good.with_suffix(".json").exists()


def test_an_empty_training_split_is_named_before_training():
    empty = tg.data.MNIST(
        np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64), np.zeros((3, 28, 28), np.uint8),
        np.zeros(3, np.int64), "an empty file",
    )  # fmt: skip
    with pytest.raises(ValueError, match="training split of an empty file has no images"):
        mnist_common.Data.from_mnist(empty)


# ---- Kaggle's Digit Recognizer flow, from CSV files made of the bundled subset ------------------
@pytest.fixture(scope="module")
def kaggle_files(tmp_path_factory):
    """train.csv (header label,pixel0..), test.csv (pixel0.., no labels), mnist_test.csv (no header)."""
    folder = tmp_path_factory.mktemp("kaggle")
    mnist = tg.data.load_mnist_subset()
    x, y = mnist.train_images.reshape(-1, 784)[:1500], mnist.train_labels[:1500]
    xt, yt = mnist.test_images.reshape(-1, 784)[:250], mnist.test_labels[:250]
    pixels = ",".join(f"pixel{i}" for i in range(784))
    rows = lambda a: "".join(",".join(map(str, r)) + "\n" for r in a)  # noqa: E731
    (folder / "train.csv").write_text(f"label,{pixels}\n" + rows(np.column_stack([y, x])))
    (folder / "test.csv").write_text(f"{pixels}\n" + rows(xt))
    (folder / "mnist_test.csv").write_text(rows(np.column_stack([yt, xt])))
    return folder


def test_kaggle_flow_trains_on_train_csv_and_writes_the_submission_byte_for_byte(kaggle_files, tmp_path):
    sub = tmp_path / "out" / "submission.csv"
    result = mnist_mlp.main(
        ["--train-csv", str(kaggle_files / "train.csv"), "--val-fraction", "0.2", "--epochs", "3",
         "--predict-csv", str(kaggle_files / "test.csv"), "--submission", str(sub), "--no-progress"]
    )  # fmt: skip
    assert len(result.data.x_train) == 1200 and len(result.data.x_test) == 300  # 20% held out
    assert result.test_acc > 0.8  # scored on the held-out rows
    images, _ = tg.data.read_csv(kaggle_files / "test.csv")
    expected = result.model(mnist_common.inputs(images.reshape(-1, 784))).data.argmax(1)
    text = sub.read_bytes().decode()
    assert text == "ImageId,Label\n" + "".join(f"{i},{label}\n" for i, label in enumerate(expected, 1))
    assert text.count("\n") == 251 and "\r" not in text


def test_mnist_in_csv_files_train_and_score(kaggle_files):
    result = mnist_mlp.main(
        ["--train-csv", str(kaggle_files / "train.csv"), "--test-csv", str(kaggle_files / "mnist_test.csv"),
         "--epochs", "2", "--no-progress"]
    )  # fmt: skip
    assert len(result.data.x_test) == 250 and result.test_acc > 0.75


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--val-fraction", "0.1"], "go with --train-csv"),
        (["--train-csv", "TRAIN"], "needs one split to score on"),
        (["--train-csv", "TRAIN", "--val-fraction", "1.5"], "must be in (0, 1)"),
        (["--train-csv", "TRAIN", "--val-fraction", "0.1", "--subset"], "one source of data"),
        (["--predict-csv", "TEST"], "go together"),
        (["--train-csv", "nowhere.csv", "--val-fraction", "0.1"], "nowhere.csv: no such file"),
        (["--submission", "/proc/s.csv", "--predict-csv", "TEST"], "cannot create files in /proc"),
        (["--export-onnx", "/etc/hostname/m.onnx"], "is a file, so nothing can be written under it"),
    ],
)
def test_csv_and_output_options_are_checked_before_loading(kaggle_files, argv, fragment, capsys):
    argv = [
        a.replace("TRAIN", str(kaggle_files / "train.csv")).replace("TEST", str(kaggle_files / "test.csv"))
        for a in argv
    ]
    with pytest.raises(SystemExit):
        mnist_mlp.parse_args(argv)
    assert fragment in capsys.readouterr().err


def test_an_unlabelled_train_csv_ends_the_program_naming_the_file(kaggle_files):
    with pytest.raises(SystemExit, match=r"test\.csv: has no label column"):
        mnist_mlp.main(
            ["--train-csv", str(kaggle_files / "test.csv"), "--val-fraction", "0.1", "--no-progress"]
        )


def test_export_onnx_writes_a_file_onnx_runtime_runs_like_the_model(tmp_path):
    ort = pytest.importorskip("onnxruntime")  # in the test extra: always there in CI
    path = tmp_path / "mlp.onnx"
    result = mnist_mlp.main(["--subset", "--epochs", "1", "--no-progress", "--export-onnx", str(path)])
    x = mnist_common.inputs(result.data.x_test[:7]).data
    (got,) = ort.InferenceSession(str(path)).run(None, {"input": x})
    np.testing.assert_allclose(got, result.model(tg.Tensor(x)).data, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("steps", [["--epochs", "2"], ["--batch-size", "full", "--iterations", "30"]])
def test_every_line_fits_80_columns(steps, capsys):
    """Plain output (no bar), a long network description and a full-batch run's iteration lines."""
    mnist_mlp.main(["--subset", "--no-progress", "--hidden", "512,256,128,64,32", *steps])
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(("epoch", "iter")) for line in lines)
    assert max(map(len, lines)) <= 80, max(lines, key=len)


def test_the_bar_shows_the_test_accuracy_of_the_epoch_just_evaluated():
    progress = mnist_common.Progress(with_overrides("default", epochs=2), steps=4, enabled=False)
    progress.bar = type("Bar", (), {"set_postfix_str": lambda self, s, **k: setattr(self, "text", s),
                                    "write": lambda self, s: None})()  # fmt: skip
    history = tg.train.History()
    history.append(1, 0.5, 0.8, 0.4, 0.875)
    progress.on_evaluated(history)
    assert progress.bar.text.endswith("test 87.50%")  # not the previous epoch's
