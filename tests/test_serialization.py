"""tg.save / tg.load: .npz and .safetensors round trips, atomic writes, no pickle, clear errors.
Damaged and hostile files are in test_bad_inputs.py."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import tinygrad_edu as tg
from tinygrad_edu import serialization
from tinygrad_edu.serialization import load, save


def test_round_trip_keeps_values_dtypes_and_shapes(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "0.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "layers.1.bias": rng.standard_normal(5),  # float64 stays float64
        "step": np.int64(7),
        "lr": 0.25,
        "flag": True,
        "indices": np.arange(4, dtype=np.int32),
        "tensor": tg.Tensor(np.ones((2, 2))),
    }
    path = tmp_path / "model.npz"
    save(state, path)
    loaded = load(path)
    assert list(loaded) == list(state)
    for key, value in state.items():
        expected = np.asarray(value.data if isinstance(value, tg.Tensor) else value)
        assert loaded[key].dtype == expected.dtype, key
        assert loaded[key].shape == expected.shape, key
        np.testing.assert_array_equal(loaded[key], expected)


def test_file_is_a_plain_npz_readable_by_numpy(tmp_path):
    path = tmp_path / "m.npz"
    save({"w": np.arange(6.0).reshape(2, 3)}, path)
    with np.load(path, allow_pickle=False) as f:
        np.testing.assert_array_equal(f["w"], np.arange(6.0).reshape(2, 3))
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["w.npy"]


def test_path_is_used_as_given_without_npz_suffix(tmp_path):
    path = tmp_path / "checkpoint.bin"
    save({"a": np.zeros(2)}, path)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.bin"]
    np.testing.assert_array_equal(load(str(path))["a"], np.zeros(2))


def test_keys_that_collide_with_np_savez_arguments(tmp_path):
    state = {"file": np.ones(2), "allow_pickle": np.zeros(1)}
    save(state, tmp_path / "x.npz")
    loaded = load(tmp_path / "x.npz")
    np.testing.assert_array_equal(loaded["file"], np.ones(2))
    np.testing.assert_array_equal(loaded["allow_pickle"], np.zeros(1))


def test_overwrite_replaces_file_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "m.npz"
    save({"a": np.zeros(3)}, path)
    save({"b": np.ones(2)}, path)
    assert list(load(path)) == ["b"]
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "NoneType"),
        ("text", "str"),
        ([1, 2], "list"),
        ({"x": 1}, "dict"),
        (np.array([object()]), "dtype"),
    ],
)
def test_non_array_values_are_rejected_naming_the_key(tmp_path, value, kind):
    path = tmp_path / "bad.npz"
    with pytest.raises(TypeError, match=r"'layer\.weight'.*" + kind):
        save({"layer.weight": value}, path)
    assert os.listdir(tmp_path) == []  # nothing written, not even a temporary


def test_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "m.npz"
    save({"a": np.arange(3)}, path)
    with pytest.raises(TypeError):
        save({"a": np.arange(3), "b": None}, path)
    np.testing.assert_array_equal(load(path)["a"], np.arange(3))
    assert os.listdir(tmp_path) == ["m.npz"]


def test_crash_during_write_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    save({"a": np.arange(3)}, path)

    def write_half_then_fail(f, arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write_npz", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save({"a": np.arange(5)}, path)
    assert os.listdir(tmp_path) == ["m.npz"]
    np.testing.assert_array_equal(load(path)["a"], np.arange(3))


def test_key_ending_in_npy_is_rejected(tmp_path):
    """numpy's reader finds member "x.npy" under both "x" and "x.npy": such keys would collide."""
    with pytest.raises(ValueError, match=r"'x\.npy'"):
        save({"x": np.zeros(1), "x.npy": np.ones(1)}, tmp_path / "s.npz")
    assert not (tmp_path / "s.npz").exists()


def test_written_files_follow_the_umask_and_keep_their_permissions(tmp_path):
    """As open() and np.save: a new file gets 0o666 minus the umask; a replaced file keeps its mode."""
    old_umask = os.umask(0o077)
    try:
        save({"w": np.ones(2)}, tmp_path / "new.npz")
    finally:
        os.umask(old_umask)
    assert (tmp_path / "new.npz").stat().st_mode & 0o777 == 0o600
    private = tmp_path / "private.npz"
    save({"w": np.ones(2)}, private)
    private.chmod(0o640)
    save({"w": np.zeros(2)}, private)
    assert private.stat().st_mode & 0o777 == 0o640 and load(private)["w"][0] == 0.0


def test_a_file_that_cannot_be_written_is_named_in_the_error(tmp_path):
    path = tmp_path / ("x" * 300)  # longer than a file name may be
    with pytest.raises(OSError, match="cannot write .*" + "x" * 300 + ": File name too long"):
        save({"w": np.ones(1)}, path)
    assert not list(tmp_path.iterdir())


def test_a_failed_rename_names_the_file_and_leaves_no_temporary(tmp_path):
    (tmp_path / "d.npz").mkdir()  # a folder where the file should go
    with pytest.raises(OSError, match=r"cannot write .*d\.npz: Is a directory"):
        save({"w": np.ones(1)}, tmp_path / "d.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]


def test_non_string_key_is_rejected(tmp_path):
    with pytest.raises(TypeError, match="keys must be non-empty strings"):
        save({1: np.zeros(1)}, tmp_path / "x.npz")


def test_load_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match=r"nope\.npz"):
        load(missing)


def test_save_into_a_missing_folder_names_the_destination(tmp_path):
    target = tmp_path / "no_such_dir" / "m.npz"
    with pytest.raises(FileNotFoundError) as err:
        tg.save({"a": np.zeros(1)}, target)
    assert str(target) in str(err.value) and "does not exist" in str(err.value)
    assert not (tmp_path / "no_such_dir").exists()


# ---- .safetensors: the format PyTorch users share weights in -------------------------------------

ALL_DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64"]
ALL_DTYPES += ["uint8", "uint16", "uint32", "uint64", "bool"]


def test_safetensors_round_trip_keeps_every_dtype_shape_and_value(tmp_path):
    rng = np.random.default_rng(0)
    state = {f"{name}.w": (rng.standard_normal((3, 2)) * 50).astype(name) for name in ALL_DTYPES}
    state["scalar"] = np.float32(0.5)
    state["empty"] = np.zeros((0, 4), np.float32)
    state["transposed"] = np.arange(6.0).reshape(2, 3).T  # not C-contiguous
    state["big_endian"] = np.arange(4, dtype=">f4")
    state["tensor"] = tg.Tensor(np.ones((2, 2), np.float32))
    path = tmp_path / "m.safetensors"
    save(state, path)
    loaded = load(path)
    independent = safetensors.numpy.load_file(path)  # the package's own reader
    assert sorted(loaded) == sorted(state) == sorted(independent)
    for key, value in state.items():
        expected = np.asarray(value.data if isinstance(value, tg.Tensor) else value)
        for got in (loaded[key], independent[key]):
            assert got.dtype == expected.dtype.newbyteorder("="), key
            assert got.shape == expected.shape, key
            np.testing.assert_array_equal(got, expected)
    assert loaded["float32.w"].flags.writeable  # as np.load gives
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_a_state_dict_written_by_safetensors_numpy_with_pytorch_names_loads_into_the_model(tmp_path):
    """The keys, layouts ((out, in) weights) and dtypes of torch.nn.Sequential(Linear, ReLU, Linear);
    the model's output is checked against the same network written out in numpy."""
    rng = np.random.default_rng(1)
    torch_state = {
        "0.weight": rng.standard_normal((16, 12)).astype(np.float32),
        "0.bias": rng.standard_normal(16).astype(np.float32),
        "2.weight": rng.standard_normal((10, 16)).astype(np.float32),
        "2.bias": rng.standard_normal(10).astype(np.float32),
    }
    path = tmp_path / "from_torch.safetensors"
    safetensors.numpy.save_file(torch_state, path)
    model = tg.nn.Sequential(tg.nn.Linear(12, 16), tg.nn.ReLU(), tg.nn.Linear(16, 10))
    model.load_state_dict(tg.load(path))
    x = rng.standard_normal((5, 12)).astype(np.float32)
    hidden = np.maximum(x @ torch_state["0.weight"].T + torch_state["0.bias"], 0)
    expected = hidden @ torch_state["2.weight"].T + torch_state["2.bias"]
    out = model(tg.Tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)
    # and back: what tg.save writes, the package reads under the same names and dtypes
    save(model.state_dict(), tmp_path / "to_torch.safetensors")
    back = safetensors.numpy.load_file(tmp_path / "to_torch.safetensors")
    assert sorted(back) == sorted(torch_state)
    for key, value in torch_state.items():
        assert back[key].dtype == np.float32
        np.testing.assert_array_equal(back[key], value)


def test_the_suffix_chooses_the_format(tmp_path):
    save({"w": np.ones(2)}, tmp_path / "a.SafeTensors")
    save({"w": np.ones(2)}, tmp_path / "a.npz")
    assert (tmp_path / "a.SafeTensors").read_bytes()[8:9] == b"{"  # size, then the JSON header
    assert zipfile.is_zipfile(tmp_path / "a.npz")


@pytest.mark.parametrize("action", ["save", "load"])
def test_without_safetensors_the_error_names_the_extra(tmp_path, monkeypatch, action):
    path = tmp_path / "m.safetensors"
    save({"w": np.ones(2)}, path)
    monkeypatch.setitem(sys.modules, "safetensors", None)  # import fails, as when not installed
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install 'tinygrad_edu\[interop\]'") as e:
        save({"w": np.zeros(2)}, path) if action == "save" else load(path)
    assert str(path) in str(e.value)
    monkeypatch.undo()
    np.testing.assert_array_equal(load(path)["w"], np.ones(2))  # a failed save changed nothing


def test_the_library_imports_and_saves_npz_with_numpy_alone(tmp_path):
    """A fresh interpreter in which every optional package fails to import."""
    code = """
import sys
class NoExtras:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"safetensors", "onnx", "onnxruntime", "graphviz", "matplotlib", "tqdm"}:
            raise ImportError("not installed: " + name)
sys.meta_path.insert(0, NoExtras())
import numpy as np
import tinygrad_edu as tg
tg.save({"w": np.ones(2)}, sys.argv[1] + "/m.npz")
try:
    tg.save({"w": np.ones(2)}, sys.argv[1] + "/m.safetensors")
except ImportError as e:
    print(e)
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "needs the safetensors package: install the interop extra" in result.stdout
    assert os.listdir(tmp_path) == ["m.npz"]
