"""The standing battery of bad inputs: every case asserts the exception type, a message fragment
naming the file, key, op or shape, and that nothing was half-written.

Sections:
  1. checkpoints: tg.save / tg.load (.npz, .safetensors, PyTorch pickles)
  2. data files: IDX, CSV, load_mnist, Kaggle submissions, DataLoader
  3. downloads from a failing or lying server on 127.0.0.1 (datafiles.LocalServer)
  4. processes killed mid-write (a real kill -9 of a child), a full disk, a write-protected file
  5. checking tools (gradcheck)
Op-level cases (dtypes, layouts, 0-d and empty inputs) go in sections of their own below.

Files are small and every wait is bounded, so the whole battery runs in seconds.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import pickle
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from datafiles import BLOB, HEADERS, PIXEL_HEADER, csv_text, digits, idx_bytes, md5, write_mnist

import tinygrad_edu as tg
import tinygrad_edu.data.download as download
from tinygrad_edu import fileio
from tinygrad_edu.data import (
    DataLoader,
    DownloadError,
    download_mnist,
    load_mnist,
    read_csv,
    read_digit_recognizer,
    read_idx,
    read_mnist_csv,
    write_submission,
)

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("offline")  # conftest.py: no real mirror, cache or CI data


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def python(code: str, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.Popen:
    """A child Python running `code` with this checkout importable; stdout is a text pipe."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [*prefix, sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


# ==== 1. checkpoints: tg.save / tg.load ============================================================


def test_load_refuses_pickled_object_arrays_naming_file_and_key(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}], dtype=object))  # numpy pickles object arrays
    with pytest.raises(ValueError, match=r"evil\.npz: the array 'x' cannot be read"):
        tg.load(path)


@pytest.mark.parametrize("content", [b"not a zip file at all", b"", b"\x93NUMPY\x01\x00"])
def test_load_corrupt_file_names_the_path(tmp_path, content):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"corrupt\.npz is not a readable \.npz archive"):
        tg.load(path)


@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_load_truncated_archive_names_the_path(tmp_path, keep):
    """Cut in the data (half) or in the zip directory at the end (0.97): never a partial dict."""
    path = tmp_path / "trunc.npz"
    tg.save({"a": np.arange(1000.0), "w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=r"trunc\.npz"):
        tg.load(path)


def test_load_single_npy_is_rejected(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match=r"single\.npy is not a readable \.npz archive"):
        tg.load(path)


def test_load_refuses_a_zip_member_that_is_not_an_array(tmp_path):
    """numpy's NpzFile returns such a member as raw bytes; a checkpoint holds arrays only."""
    path = tmp_path / "notes.npz"
    tg.save({"w": np.ones(2)}, path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("README.txt", b"trained for 3 epochs")
    with pytest.raises(ValueError, match=r"notes\.npz holds the member 'README\.txt', which is not a \.npy"):
        tg.load(path)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_refuses_a_key_with_a_nul_character(tmp_path, suffix):
    """A zip member's name ends at NUL on reading: 'a\\0b' would come back as 'a'."""
    path = tmp_path / ("m" + suffix)
    with pytest.raises(ValueError, match=r"key 'a\\x00b' contains a NUL"):
        tg.save({"a\0b": np.ones(2)}, path)
    assert listing(tmp_path) == []


def torch_zip_checkpoint(path: Path) -> None:
    """The layout torch.save has written since PyTorch 1.6: a zip of <name>/data.pkl (the pickle),
    <name>/data/0 (the storages), <name>/version; from PyTorch's serialization notes."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/data.pkl", pickle.dumps({"w": "a persistent id"}, protocol=2))
        archive.writestr("model/data/0", np.ones(4, np.float32).tobytes())
        archive.writestr("model/version", b"3\n")


@pytest.mark.parametrize("kind", ["zip", "legacy"])
def test_load_refuses_a_torch_save_pickle_and_says_how_to_convert(tmp_path, kind):
    path = tmp_path / "model.pt"
    if kind == "zip":
        torch_zip_checkpoint(path)
    else:  # torch.save(..., _use_new_zipfile_serialization=False): pickles one after another
        path.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + b"...")
    with pytest.raises(ValueError) as e:
        tg.load(path)
    message = str(e.value)
    for fragment in (str(path), "torch.save", "never unpickles", "safetensors.torch import save_file"):
        assert fragment in message


def safetensors_file(header: dict, data: bytes) -> bytes:
    """A .safetensors file by its spec: 8-byte little-endian header size, JSON header, data."""
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


GOOD_HEADER = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
MALFORMED_SAFETENSORS = {
    "empty": (b"", ValueError, "header too small"),
    "truncated data": (safetensors_file(GOOD_HEADER, b"\0" * 10), ValueError, "not a readable .safetensors"),
    "header size beyond the file": (b"\xff" * 8 + b"{}", ValueError, "header too large"),
    "header not JSON": (struct.pack("<Q", 4) + b"{{{{", ValueError, "invalid JSON"),
    "unknown dtype": (
        safetensors_file({"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}}, b"\0\0"),
        ValueError,
        "Q4",
    ),
    "dtype numpy lacks": (
        safetensors_file({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4),
        TypeError,
        "key 'w' has dtype BF16, which numpy has no type for",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED_SAFETENSORS))
def test_malformed_safetensors_raise_naming_the_file(tmp_path, case):
    content, kind, fragment = MALFORMED_SAFETENSORS[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(kind, match=str(path)) as e:
        tg.load(path)
    assert fragment in str(e.value)


@pytest.mark.parametrize(
    ("key", "value", "kind", "fragment"),
    [
        pytest.param(
            "w",
            np.ones(2, np.longdouble),
            TypeError,
            f"key 'w' has dtype {np.dtype(np.longdouble)}, which .safetensors cannot",
            marks=pytest.mark.skipif(
                np.dtype(np.longdouble).itemsize == 8, reason="long double is float64 here"
            ),
        ),
        ("__metadata__", np.ones(2), ValueError, "'__metadata__' is reserved"),
        ("w", np.ones(2, np.complex64), TypeError, "key 'w' has dtype complex64, not a numeric"),
    ],
)
def test_safetensors_save_refuses_what_the_format_cannot_hold(tmp_path, key, value, kind, fragment):
    path = tmp_path / "m.safetensors"
    tg.save({"old": np.zeros(1)}, tmp_path / "m.npz")
    with pytest.raises(kind, match=fragment):
        tg.save({"ok": np.ones(1), key: value}, path)
    assert listing(tmp_path) == ["m.npz"]


# ==== 2. data files: IDX, CSV, load_mnist, submissions, DataLoader ================================

GOOD_IMAGES = idx_bytes(np.zeros((3, 28, 28), np.uint8))
CORRUPT_IDX = {
    "not IDX": (b"PK\x03\x04" + GOOD_IMAGES[4:], "not an IDX file"),
    "labels, not images": (idx_bytes(np.zeros(3, np.uint8)), "0x00000801"),
    "truncated magic": (GOOD_IMAGES[:3], "truncated"),
    "truncated header": (GOOD_IMAGES[:10], "truncated inside its header"),
    "truncated data": (GOOD_IMAGES[:-5], "truncated"),
    "extra bytes": (GOOD_IMAGES + b"\0", "longer than its header says"),
}


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("case", list(CORRUPT_IDX))
def test_corrupt_idx_files_raise_naming_the_file(tmp_path, case, compress):
    content, message = CORRUPT_IDX[case]
    path = tmp_path / "broken-images-idx3-ubyte"
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(ValueError, match=message) as e:
        read_idx(path, magic=0x00000803)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("damage", ["cut", "flipped"])
def test_truncated_or_corrupt_gzip_raises_naming_the_file(tmp_path, damage):
    path = tmp_path / "images.gz"
    content = gzip.compress(GOOD_IMAGES)
    # cut short, or one byte of the deflate stream changed (the stream or its CRC no longer checks)
    content = content[:-20] if damage == "cut" else content[:30] + bytes([content[30] ^ 0xFF]) + content[31:]
    path.write_bytes(content)
    with pytest.raises(ValueError, match="truncated or corrupt gzip") as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_load_mnist_rejects_images_that_are_not_28_by_28(tmp_path):
    write_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(digits(10, side=28)[0][:, :, :27])))
    with pytest.raises(ValueError, match=r"27 pixels \(shape \(10, 28, 27\)\); MNIST images are 28×28") as e:
        load_mnist(tmp_path, download=False)
    assert str(path) in str(e.value)


def test_load_mnist_rejects_image_label_count_mismatch(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(idx_bytes(np.zeros(19, np.uint8)))
    with pytest.raises(ValueError, match=r"20 images but .* 19 labels") as e:
        load_mnist(tmp_path, download=False)
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in str(e.value)
    assert str(tmp_path / "train-labels-idx1-ubyte.gz") in str(e.value)


def test_load_mnist_rejects_labels_outside_0_to_9(tmp_path):
    write_mnist(tmp_path)
    labels = np.arange(10, dtype=np.uint8)
    labels[7] = 10
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(idx_bytes(labels))
    with pytest.raises(ValueError, match="index 7: 10") as e:
        load_mnist(tmp_path, download=False)
    assert str(tmp_path / "t10k-labels-idx1-ubyte.gz") in str(e.value)


def test_load_mnist_rejects_swapped_files_by_magic_number(tmp_path):
    write_mnist(tmp_path)
    images, labels = tmp_path / "t10k-images-idx3-ubyte.gz", tmp_path / "t10k-labels-idx1-ubyte.gz"
    content = images.read_bytes()
    images.write_bytes(labels.read_bytes())
    labels.write_bytes(content)
    with pytest.raises(ValueError, match=r"0x00000801.*expected 0x00000803") as e:
        load_mnist(tmp_path, download=False)
    assert str(images) in str(e.value)


def edited_csv(line: int, edit) -> str:
    """A good labelled CSV file with one line (1 = the header) replaced by edit(line)."""
    rows = csv_text(*digits(4), HEADERS["label,pixel0"]).splitlines()
    rows[line - 1] = edit(rows[line - 1])
    return "\n".join(rows) + "\n"


def label_last_csv() -> str:
    """Real digits (MNIST's corner pixels are 0) with the label written after the pixels, no header."""
    subset = tg.data.load_mnist_subset()
    rows = [
        ",".join(map(str, img.ravel().tolist())) + f",{y}"
        for img, y in zip(subset.test_images[:20:3], subset.test_labels[:20:3])
    ]
    return "\n".join(rows) + "\n"


MALFORMED_CSV = {
    "short row": (edited_csv(3, lambda r: r.rsplit(",", 1)[0]), "line 3: 784 values, expected 785"),
    "long row": (edited_csv(4, lambda r: r + ",0"), "line 4: 786 values"),
    "not a number": (edited_csv(2, lambda r: r[:-1] + "x"), "line 2: value '.*x' in column 785"),
    "pixel 256": (edited_csv(5, lambda r: r.rsplit(",", 1)[0] + ",256"), "line 5: value '256'"),
    "negative pixel": (edited_csv(3, lambda r: r.rsplit(",", 1)[0] + ",-1"), "line 3: value '-1'"),
    "empty cell": (edited_csv(2, lambda r: r.replace(",0,", ",,", 1)), "line 2: value '' in column"),
    "label 10": (edited_csv(4, lambda r: "10" + r[1:]), "line 4: label '10' is not a digit 0-9"),
    "header not label": (
        edited_csv(1, lambda r: "digit" + r[5:]),
        "line 1: a header of 785 columns, the first 'digit'",
    ),
    "label last in the header": (
        PIXEL_HEADER + ",label\n" + csv_text(*digits(2), None),
        "line 1: a header of 785 columns, the first 'pixel0'",
    ),
    "label last, no header": (
        label_last_csv(),
        "line 1: the first column, read as the label, is 0 on every line",
    ),
    "label + 783 names": (
        edited_csv(1, lambda r: r.rsplit(",", 1)[0]),
        "line 1: a header of 784 columns, the first 'label'",
    ),
    "10 values": ("1,2,3,4,5,6,7,8,9,10\n", "line 1: 10 values"),
    "header only": (HEADERS["label,1x1"] + "\n", "no data lines"),
    "empty": ("", "line 1: 1 values"),
}


@pytest.mark.parametrize("case", list(MALFORMED_CSV))
def test_malformed_csv_raises_naming_file_and_line(tmp_path, case):
    text, message = MALFORMED_CSV[case]
    path = tmp_path / "mnist_train.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as e:
        read_csv(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize(
    ("reader", "header", "fragment"),
    [
        (
            read_digit_recognizer,
            HEADERS["label,1x1"],
            "line 1: 'label,1x1,…,28x28', expected 'label,pixel0,…",
        ),
        (read_digit_recognizer, None, "line 1: no header, expected 'label,pixel0,…,pixel783' or 'pixel0"),
        (read_mnist_csv, HEADERS["label,pixel0"], "line 1: 'label,pixel0,…,pixel783', expected no header or"),
        (read_mnist_csv, PIXEL_HEADER, "line 1: 'pixel0,pixel1,…,pixel783', expected no header or"),
    ],
    ids=[
        "kaggle-reads-1x1",
        "kaggle-reads-headerless",
        "mnist-csv-reads-kaggle-train",
        "mnist-csv-reads-kaggle-test",
    ],
)
def test_csv_of_the_wrong_family_is_refused_naming_the_file(tmp_path, reader, header, fragment):
    path = tmp_path / "train.csv"
    images, labels = digits(3)
    path.write_text(csv_text(images, None if header == PIXEL_HEADER else labels, header))
    with pytest.raises(ValueError, match=reader.__name__) as e:
        reader(path)
    assert str(path) in str(e.value) and fragment in str(e.value)


def test_mnist_csv_without_a_label_column_is_refused(tmp_path):
    path = tmp_path / "mnist_test.csv"
    path.write_text(csv_text(digits(3)[0], None, None))
    with pytest.raises(ValueError, match=f"read_mnist_csv: {path} has 784 values a line, no label column"):
        read_mnist_csv(path)


@pytest.mark.parametrize(
    ("labels", "kind", "fragment"),
    [
        (np.zeros((4, 10), np.float32), TypeError, r"shape \(4, 10\) \(take logits.argmax\(1\) first\)"),
        (np.array([1.0, 2.0]), TypeError, "dtype float64"),
        (np.array([3, 10, 2, -1]), ValueError, "2 labels are not digits 0-9, the first at index 1: 10"),
        (np.zeros(0, np.int64), ValueError, "no labels to write"),
    ],
)
def test_write_submission_refuses_what_is_not_one_digit_per_image(tmp_path, labels, kind, fragment):
    path = tmp_path / "submission.csv"
    path.write_text("ImageId,Label\n1,7\n")
    with pytest.raises(kind, match=fragment):
        write_submission(path, labels)
    assert path.read_text() == "ImageId,Label\n1,7\n" and listing(tmp_path) == ["submission.csv"]


@pytest.mark.parametrize("wrap", [np.asarray, tg.Tensor], ids=["arrays", "Tensors"])
def test_dataloader_refuses_a_list_of_arrays(wrap):
    """[X, y] (a list, meant as the tuple (X, y)) would be a dataset of two samples."""
    X, y = wrap(np.zeros((8, 784), np.float32)), wrap(np.zeros((8, 784), np.float32))
    with pytest.raises(
        TypeError, match=r"a list of 2 arrays \(shapes \(8, 784\), \(8, 784\)\); pass a tuple"
    ):
        DataLoader([X, y], batch_size=4)


# ==== 3. downloads from a failing or lying server =================================================

DOWNLOAD_FAILURES = {
    "corrupt": (("ok", BLOB[:-1] + b"!"), {}, "MD5 .* is not the expected"),
    "dropped mid-body": (
        ("truncated", BLOB),
        {},
        f"truncated: received {len(BLOB) // 2} of {len(BLOB)} bytes",
    ),
    "dropped before answering": (("drop", b""), {}, "Remote end closed connection"),
    "Content-Length too small": (("short", BLOB), {}, "MD5 .* is not the expected"),
    "Content-Length too large, then silent": (("stall", BLOB), {"timeout": 0.3}, "timed out"),
    "trickling": (("trickle", BLOB), {"deadline": 0.3}, "gave up at the deadline of 0.3 s with"),
    "redirect loop": (("redirect", b"/m/a.gz"), {}, "redirect error that would lead to an infinite loop"),
    "404": (("404", b""), {}, "HTTP Error 404"),
}


@pytest.mark.parametrize("case", list(DOWNLOAD_FAILURES))
def test_failed_download_leaves_nothing_and_says_what_was_tried(server, tmp_path, case):
    route, options, message = DOWNLOAD_FAILURES[case]
    server.routes["/m/a.gz"] = route
    dest = tmp_path / "dl"
    start = time.monotonic()
    with pytest.raises(DownloadError, match=message) as e:
        download_mnist(dest, mirrors=[server.url + "/m"], checksums={"a.gz": md5(BLOB)}, **options)
    assert time.monotonic() - start < 5
    assert f"{server.url}/m/a.gz" in str(e.value)
    assert f"put them in {dest}" in str(e.value)
    assert list(dest.iterdir()) == []  # neither the file nor a temporary file


def test_download_times_out_on_a_silent_server(tmp_path):
    with socket.socket() as silent:  # accepts connections (the backlog does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(DownloadError, match=f"{url}a.gz: .*timed out"):
            download_mnist(tmp_path, mirrors=[url], checksums={"a.gz": md5(BLOB)}, timeout=0.2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        (
            download.ENV_TIMEOUT,
            "soon",
            "$TINYGRAD_EDU_TIMEOUT must be a positive number of seconds, got 'soon'",
        ),
        (
            download.ENV_DEADLINE,
            "-5",
            "$TINYGRAD_EDU_DEADLINE must be a positive number of seconds, got '-5'",
        ),
        (download.ENV_DEADLINE, "inf", "got 'inf'"),
        (
            download.ENV_MIRRORS,
            "ftp://example.org/mnist",
            "$TINYGRAD_EDU_MIRRORS must be one or more http://",
        ),
    ],
)
def test_bad_download_settings_from_the_environment_name_the_variable(
    tmp_path, monkeypatch, variable, value, fragment
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError) as e:
        load_mnist(tmp_path)
    assert fragment in str(e.value)
    assert not (tmp_path / "home").exists()  # refused before the cache folder was made


@pytest.mark.parametrize(
    ("options", "fragment"),
    [({"timeout": 0}, "timeout must be a positive"), ({"mirrors": []}, "mirrors must be one or more")],
)
def test_bad_download_arguments_are_refused(tmp_path, options, fragment):
    with pytest.raises(ValueError, match=fragment):
        load_mnist(tmp_path, **options)


# ==== 4. processes killed mid-write, a full disk, a write-protected file ===========================

KILLED_SAVE = """
import sys, time
import numpy as np
import tinygrad_edu as tg

write_array = np.lib.format.write_array

def write_then_hang(*args, **kwargs):  # holds the save mid-archive, for the parent's kill -9
    write_array(*args, **kwargs)
    print("writing", flush=True)
    time.sleep(60)

np.lib.format.write_array = write_then_hang
tg.save({"w": np.ones(1000), "b": np.ones(10)}, sys.argv[1])
"""


def test_kill_9_during_a_save_keeps_the_old_file_and_the_next_save_removes_the_orphan(tmp_path):
    target = tmp_path / "m.npz"
    tg.save({"w": np.arange(3.0)}, target)
    child = python(KILLED_SAVE, str(target))
    try:
        assert child.stdout.readline() == "writing\n", child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    orphans = [name for name in listing(tmp_path) if name != "m.npz"]
    assert (
        len(orphans) == 1 and orphans[0].startswith(f".m.npz.{child.pid}@") and orphans[0].endswith(".part")
    )
    np.testing.assert_array_equal(tg.load(target)["w"], np.arange(3.0))  # the old checkpoint, whole
    tg.save({"w": np.ones(2)}, target)
    assert listing(tmp_path) == ["m.npz"]
    np.testing.assert_array_equal(tg.load(target)["w"], np.ones(2))


KILLED_DOWNLOAD = """
import sys
from tinygrad_edu.data import download_mnist
download_mnist(sys.argv[1], mirrors=[sys.argv[2]], checksums={"a.gz": sys.argv[3]}, deadline=60)
"""


def test_kill_9_during_a_download_and_the_next_download_removes_the_orphan(server, tmp_path):
    server.routes["/a.gz"] = ("trickle", BLOB)
    dest = tmp_path / "dl"
    child = python(KILLED_DOWNLOAD, str(dest), server.url, md5(BLOB))
    try:
        deadline = time.monotonic() + 20
        while not (dest.is_dir() and listing(dest)) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()
    orphans = listing(dest)
    assert len(orphans) == 1 and orphans[0].startswith(f".a.gz.{child.pid}@"), orphans
    server.routes["/a.gz"] = ("ok", BLOB)
    download_mnist(dest, mirrors=[server.url], checksums={"a.gz": md5(BLOB)})
    assert listing(dest) == ["a.gz"] and (dest / "a.gz").read_bytes() == BLOB


def test_only_temporaries_of_the_same_target_whose_process_is_gone_are_removed(tmp_path):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead, host, hex12 = int(gone.stdout), socket.gethostname(), "0123456789ab"
    removed = f".m.npz.{dead}@{host}.{hex12}.part"
    kept = [
        f".m.npz.{os.getpid()}@{host}.{hex12}.part",  # a live process: a save in progress
        f".m.npz.{dead}@another-host.{hex12}.part",  # a shared folder: that pid means nothing here
        f".n.npz.{dead}@{host}.{hex12}.part",  # another target
        f".m.npz.{hex12}.part",  # no pid: written before pids were recorded, owner unknown
        f"m.npz.{dead}@{host}.{hex12}.part",  # not ours: not hidden
        f".m.npz.{dead}@{host}.{hex12}.part.bak",
    ]
    for name in [removed, *kept]:
        (tmp_path / name).write_bytes(b"partial")
    tg.save({"w": np.ones(1)}, tmp_path / "m.npz")
    assert listing(tmp_path) == sorted(["m.npz", *kept])


def test_save_refuses_a_write_protected_file(tmp_path, monkeypatch):
    """os.access answers as it does for a user who may not write the file (root may write anything)."""
    target = tmp_path / "m.npz"
    tg.save({"w": np.arange(3.0)}, target)
    target.chmod(0o444)
    access = os.access
    monkeypatch.setattr(
        fileio.os, "access", lambda p, mode, **kw: access(p, mode, **kw) and Path(p) != target
    )
    with pytest.raises(
        PermissionError, match=f"cannot write {target}: it is write-protected \\(mode 0o444\\)"
    ):
        tg.save({"w": np.zeros(3)}, target)
    np.testing.assert_array_equal(tg.load(target)["w"], np.arange(3.0))
    assert listing(tmp_path) == ["m.npz"]


PROTECTED_SAVE = """
import sys
import numpy as np
import tinygrad_edu as tg
try:
    tg.save({"w": np.zeros(3)}, sys.argv[1])
except PermissionError as e:
    print("refused:", e)
else:
    print("saved")
"""


def test_save_refuses_a_write_protected_file_in_a_process_without_write_permission(tmp_path):
    """For real: a 0444 file in a folder the child may write, where a rename alone would replace
    the file. As root, the child runs without the capabilities that let root ignore file modes."""
    target = tmp_path / "m.npz"
    tg.save({"w": np.arange(3.0)}, target)
    target.chmod(0o444)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root, and setpriv (util-linux) is missing to drop CAP_DAC_OVERRIDE")
        prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner")
    out = finish(python(PROTECTED_SAVE, str(target), prefix=prefix))
    assert f"refused: [Errno 13] cannot write {target}: it is write-protected (mode 0o444)" in out, out
    np.testing.assert_array_equal(tg.load(target)["w"], np.arange(3.0))
    assert listing(tmp_path) == ["m.npz"]


FULL_DISK_SAVE = """
import resource, sys
import numpy as np
import tinygrad_edu as tg
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))  # files stop growing at 1 MiB
try:
    tg.save({"w": np.zeros(1 << 19)}, sys.argv[1])  # 4 MiB
except OSError as e:
    print(type(e).__name__, e.errno, e)
"""


def test_a_write_that_fails_for_lack_of_space_names_the_file(tmp_path):
    """RLIMIT_FSIZE makes the kernel refuse the write (EFBIG), as a full disk does (ENOSPC)."""
    target = tmp_path / "m.npz"
    tg.save({"w": np.arange(3.0)}, target)
    out = finish(python(FULL_DISK_SAVE, str(target)))
    efbig = errno.EFBIG
    assert out.startswith(f"OSError {efbig} [Errno {efbig}] cannot write {target}: {os.strerror(efbig)}"), out
    np.testing.assert_array_equal(tg.load(target)["w"], np.arange(3.0))
    assert listing(tmp_path) == ["m.npz"]


# ==== 5. checking tools ===========================================================================


@pytest.mark.parametrize("check", [tg.gradcheck, tg.numerical_grad])
def test_gradcheck_on_a_read_only_input_says_so(check):
    data = np.arange(3.0)
    data.flags.writeable = False
    x = tg.Tensor(data, requires_grad=True)
    with pytest.raises(ValueError, match=r"input 0 \(shape \(3,\)\) is read-only"):
        check(lambda t: (t * t).sum(), [x])
