"""tinygrad_edu.data: IDX and CSV readers, load_mnist, downloads, the DataLoader, the bundled subset.

Fixtures are generated here; the IDX layout is written out by hand with `struct` from the format's
spec. Downloads go to a local http.server on 127.0.0.1 only, never to the network.
"""

import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.data.download as download
from tinygrad_edu.data import (
    DataLoader,
    DownloadError,
    download_mnist,
    flatten,
    load_mnist,
    load_mnist_subset,
    read_csv,
    read_idx,
    to_float,
    write_idx,
)

FULL_DATA = os.environ.get("TINYGRAD_EDU_DATA")
MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# SHA-256 of the decompressed files, from ../shared/datasets/mnist/README.md
README_SHA256 = {
    "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


@pytest.fixture(autouse=True)
def offline_and_isolated(tmp_path, monkeypatch):
    """No test reaches the real mirrors, the user's cache or the CI data unless it asks to."""
    monkeypatch.setattr(download, "MIRRORS", ("http://127.0.0.1:9/",))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TINYGRAD_EDU_DATA", raising=False)


def idx_header(x: np.ndarray, type_code: int = 0x08) -> bytes:
    """The IDX header from the spec: bytes 0, 0, type code, ndim; then the dims as big-endian uint32."""
    return struct.pack(">BBBB", 0, 0, type_code, x.ndim) + struct.pack(f">{x.ndim}I", *x.shape)


def idx_bytes(x: np.ndarray, type_code: int = 0x08, fmt: str = "B") -> bytes:
    """A whole IDX file: the header, then the values big-endian (`fmt` is their struct code)."""
    return idx_header(x, type_code) + struct.pack(f">{x.size}{fmt}", *x.ravel().tolist())


def digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    return images, labels


def write_mnist(folder: Path, n_train: int = 20, n_test: int = 10, ext: str = ".gz", seed: int = 0) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = digits(n, seed + n)
    for key, name in MNIST_NAMES.items():
        content = idx_bytes(arrays[key])
        (folder / (name + ext)).write_bytes(gzip.compress(content) if ext == ".gz" else content)
    return arrays


# ---- IDX ------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_parses_the_spec_layout(tmp_path, compress):
    cases = [
        (np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4), 0x08, "B"),
        (np.array([[1, -2, 70000], [2**31 - 1, -(2**31), 0]], dtype=np.int32), 0x0C, "i"),
        (np.array([0.5, -1.25, 1e300]), 0x0E, "d"),
    ]
    for i, (x, code, fmt) in enumerate(cases):
        content = idx_bytes(x, code, fmt)
        path = tmp_path / f"x{i}"
        path.write_bytes(gzip.compress(content) if compress else content)
        out = read_idx(path)
        assert out.dtype == x.dtype and out.dtype.isnative and out.flags.writeable
        np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_write_idx_writes_the_spec_layout_and_round_trips(tmp_path, name):
    x = np.array([[3, 1, 4], [1, 5, 9]], dtype=np.int16)
    path = tmp_path / name
    write_idx(path, x)
    content = path.read_bytes()
    if name.endswith(".gz"):
        content = gzip.decompress(content)
    assert content == idx_bytes(x, 0x0B, "h")
    np.testing.assert_array_equal(read_idx(path), x)
    images = digits(5)[0]
    write_idx(path, images)
    np.testing.assert_array_equal(read_idx(path, magic=0x00000803), images)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_write_idx_rejects_a_dtype_without_a_type_code(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.int64))
    assert list(tmp_path.iterdir()) == []


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


def test_truncated_gzip_raises_naming_the_file(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(GOOD_IMAGES)[:-20])
    with pytest.raises(ValueError, match="truncated or corrupt gzip") as e:
        read_idx(path)
    assert str(path) in str(e.value)


# ---- CSV ------------------------------------------------------------------------------------

HEADERS = {
    "label,1x1": "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)),
    "label,pixel0": "label," + ",".join(f"pixel{i}" for i in range(784)),
    "headerless": None,
}


def csv_text(images: np.ndarray, labels: np.ndarray | None, header: str | None, newline: str = "\n") -> str:
    rows = [",".join(map(str, img.ravel().tolist())) for img in images]
    if labels is not None:
        rows = [f"{y},{row}" for y, row in zip(labels.tolist(), rows)]
    return newline.join(([header] if header else []) + rows) + newline


@pytest.mark.parametrize("layout", list(HEADERS))
def test_read_csv_layouts_with_labels(tmp_path, layout):
    images, labels = digits(7)
    path = tmp_path / "mnist_train.csv"
    path.write_text(csv_text(images, labels, HEADERS[layout]))
    out_images, out_labels = read_csv(path)
    assert out_images.dtype == np.uint8 and out_images.shape == (7, 28, 28)
    assert out_labels.dtype == np.int64
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)


@pytest.mark.parametrize("header", ["pixel0,pixel1", None])
def test_read_csv_without_a_label_column(tmp_path, header):
    images = digits(4)[0]
    path = tmp_path / "test.csv"
    header = ",".join(f"pixel{i}" for i in range(784)) if header else None
    path.write_text(csv_text(images, None, header))
    out_images, out_labels = read_csv(path)
    assert out_labels is None
    np.testing.assert_array_equal(out_images, images)


def test_read_csv_gzip_and_windows_line_ends(tmp_path):
    images, labels = digits(3)
    path = tmp_path / "mnist_test.csv"
    path.write_bytes(gzip.compress(csv_text(images, labels, HEADERS["label,pixel0"], "\r\n").encode()))
    out_images, out_labels = read_csv(path)
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)


def edited_csv(line: int, edit) -> str:
    """A good labelled CSV file with one line (1 = the header) replaced by edit(line)."""
    rows = csv_text(*digits(4), HEADERS["label,pixel0"]).splitlines()
    rows[line - 1] = edit(rows[line - 1])
    return "\n".join(rows) + "\n"


MALFORMED_CSV = {
    "short row": (edited_csv(3, lambda r: r.rsplit(",", 1)[0]), "line 3: 784 values, expected 785"),
    "long row": (edited_csv(4, lambda r: r + ",0"), "line 4: 786 values"),
    "not a number": (edited_csv(2, lambda r: r[:-1] + "x"), "line 2: value '.*x' in column 785"),
    "pixel 256": (edited_csv(5, lambda r: r.rsplit(",", 1)[0] + ",256"), "line 5: value '256'"),
    "negative pixel": (edited_csv(3, lambda r: r.rsplit(",", 1)[0] + ",-1"), "line 3: value '-1'"),
    "label 10": (edited_csv(4, lambda r: "10" + r[1:]), "line 4: label '10' is not a digit 0-9"),
    "header not label": (
        edited_csv(1, lambda r: "digit" + r[5:]),
        "line 1: a header of 785 columns, the first 'digit'",
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


# ---- load_mnist: formats, validation, search order -----------------------------------------


@pytest.mark.parametrize("ext", ["", ".gz"])
def test_load_mnist_reads_idx_files(tmp_path, ext):
    arrays = write_mnist(tmp_path / "data", ext=ext)
    mnist = load_mnist(tmp_path / "data", download=False)
    assert mnist.source == str(tmp_path / "data")
    for key, x in arrays.items():
        np.testing.assert_array_equal(getattr(mnist, key), x)
    assert mnist.train_images.dtype == np.uint8 and mnist.train_labels.dtype == np.int64


def test_load_mnist_reads_the_dotted_idx_names_and_a_mnist_subfolder(tmp_path):
    arrays = write_mnist(tmp_path / "data" / "mnist", ext="")
    for name in MNIST_NAMES.values():
        path = tmp_path / "data" / "mnist" / name
        path.rename(path.with_name(name.replace("-idx", ".idx")))
    mnist = load_mnist(tmp_path / "data", download=False)
    np.testing.assert_array_equal(mnist.test_images, arrays["test_images"])


def test_load_mnist_reads_csv_folders(tmp_path):
    images, labels = digits(6)
    (tmp_path / "mnist_train.csv").write_text(csv_text(images, labels, HEADERS["label,1x1"]))
    (tmp_path / "mnist_test.csv").write_text(csv_text(images[:2], labels[:2], HEADERS["label,1x1"]))
    mnist = load_mnist(tmp_path, download=False)
    np.testing.assert_array_equal(mnist.train_labels, labels)
    np.testing.assert_array_equal(mnist.test_images, images[:2])


def test_load_mnist_reads_kaggle_digit_recognizer_whose_test_set_has_no_labels(tmp_path):
    images, labels = digits(6)
    pixels = ",".join(f"pixel{i}" for i in range(784))
    (tmp_path / "train.csv").write_text(csv_text(images, labels, "label," + pixels))
    (tmp_path / "test.csv").write_text(csv_text(images[:3], None, pixels))
    mnist = load_mnist(tmp_path, download=False)
    assert mnist.test_labels is None
    np.testing.assert_array_equal(mnist.test_images, images[:3])


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


def test_a_corrupt_file_is_an_error_not_a_reason_to_look_elsewhere(tmp_path, monkeypatch):
    write_mnist(tmp_path / "root")
    write_mnist(tmp_path / "env" / "mnist")
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "env"))
    (tmp_path / "root" / "train-images-idx3-ubyte.gz").write_bytes(GOOD_IMAGES[:-1])
    with pytest.raises(ValueError, match="truncated"):
        load_mnist(tmp_path / "root", download=False)


def test_load_mnist_search_order_root_then_env_then_cache(tmp_path, monkeypatch):
    write_mnist(tmp_path / "root", n_train=11)
    write_mnist(tmp_path / "env" / "mnist", n_train=12)
    write_mnist(tmp_path / "home" / ".cache" / "tinygrad_edu" / "mnist", n_train=13)
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "env"))
    assert len(load_mnist(tmp_path / "root", download=False).train_images) == 11
    assert len(load_mnist(tmp_path / "nowhere", download=False).train_images) == 12
    assert len(load_mnist(download=False).train_images) == 12
    monkeypatch.delenv("TINYGRAD_EDU_DATA")
    mnist = load_mnist(download=False)
    assert len(mnist.train_images) == 13
    assert mnist.source == str(tmp_path / "home" / ".cache" / "tinygrad_edu" / "mnist")


def test_load_mnist_skips_a_folder_with_only_one_split(tmp_path, monkeypatch):
    write_mnist(tmp_path / "root", n_train=11)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / "root" / name).unlink()
    write_mnist(tmp_path / "env" / "mnist", n_train=12)
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "env"))
    assert len(load_mnist(tmp_path / "root", download=False).train_images) == 12


def test_load_mnist_without_files_or_download_says_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(tmp_path / "root", download=False)
    message = str(e.value)
    cache = tmp_path / "home" / ".cache" / "tinygrad_edu" / "mnist"
    for text in [str(tmp_path / "root"), str(cache), "TINYGRAD_EDU_DATA", "subset=True", *download.MNIST_MD5]:
        assert text in message
    assert not cache.exists()


# ---- downloads, against a local server ------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        kind, body = self.server.routes.get(self.path, ("404", b""))
        if kind == "404":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if kind == "ok" else body[: len(body) // 2])  # "truncated": hang up early

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.hits = {}, []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def md5(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()


BLOB = bytes(range(256)) * 300


def test_download_good_file(server, tmp_path):
    server.routes["/m/a.gz"] = ("ok", BLOB)
    paths = download_mnist(tmp_path / "dl", mirrors=[server.url + "/m/"], checksums={"a.gz": md5(BLOB)})
    assert paths == [tmp_path / "dl" / "a.gz"]
    assert paths[0].read_bytes() == BLOB
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["a.gz"]


def test_download_skips_files_already_there(server, tmp_path):
    (tmp_path / "a.gz").write_bytes(b"mine")
    download_mnist(tmp_path, mirrors=[server.url], checksums={"a.gz": md5(BLOB)})
    assert server.hits == [] and (tmp_path / "a.gz").read_bytes() == b"mine"


def test_a_folder_that_cannot_be_written_fails_before_any_mirror_unless_nothing_is_missing(
    server, tmp_path, monkeypatch
):
    """os.access stands in for a read-only folder (as root, every folder is writable)."""
    monkeypatch.setattr(download.os, "access", lambda path, mode: False)
    (tmp_path / "a.gz").write_bytes(BLOB)
    assert download_mnist(tmp_path, mirrors=[server.url], checksums={"a.gz": md5(BLOB)}) == [
        tmp_path / "a.gz"
    ]
    with pytest.raises(DownloadError, match=r"cannot download into .* not writable"):
        download_mnist(tmp_path, mirrors=[server.url], checksums={"b.gz": md5(BLOB)})
    assert server.hits == []


@pytest.mark.parametrize(
    "route, message",
    [
        (("ok", BLOB[:-1] + b"!"), "MD5 .* is not the expected"),
        (("truncated", BLOB), f"truncated: received {len(BLOB) // 2} of {len(BLOB)} bytes"),
        (("404", b""), "HTTP Error 404"),
    ],
)
def test_failed_download_leaves_nothing_and_says_what_was_tried(server, tmp_path, route, message):
    server.routes["/m/a.gz"] = route
    dest = tmp_path / "dl"
    with pytest.raises(DownloadError, match=message) as e:
        download_mnist(dest, mirrors=[server.url + "/m"], checksums={"a.gz": md5(BLOB)})
    assert f"{server.url}/m/a.gz" in str(e.value)
    assert f"put them in {dest}" in str(e.value)
    assert list(dest.iterdir()) == []  # neither the file nor a temporary file


def test_download_falls_back_to_the_next_mirror(server, tmp_path):
    server.routes["/second/a.gz"] = ("ok", BLOB)
    mirrors = [server.url + "/first/", server.url + "/second/"]
    download_mnist(tmp_path, mirrors=mirrors, checksums={"a.gz": md5(BLOB)})
    assert server.hits == ["/first/a.gz", "/second/a.gz"]
    assert (tmp_path / "a.gz").read_bytes() == BLOB


def test_download_error_lists_every_mirror_tried(server, tmp_path):
    mirrors = [server.url + "/first/", server.url + "/second/"]
    with pytest.raises(DownloadError) as e:
        download_mnist(tmp_path, mirrors=mirrors, checksums={"a.gz": md5(BLOB)})
    assert f"{mirrors[0]}a.gz: HTTP Error 404" in str(e.value)
    assert f"{mirrors[1]}a.gz: HTTP Error 404" in str(e.value)


def test_download_times_out_on_a_silent_server(tmp_path):
    with socket.socket() as silent:  # accepts connections (the backlog does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(DownloadError, match="timed out"):
            download_mnist(tmp_path, mirrors=[url], checksums={"a.gz": md5(BLOB)}, timeout=0.2)
    assert list(tmp_path.iterdir()) == []


def test_load_mnist_download_failure_leaves_the_cache_empty_and_says_where_to_put_files(tmp_path):
    cache = tmp_path / "home" / ".cache" / "tinygrad_edu" / "mnist"
    with pytest.raises(DownloadError) as e:
        load_mnist()
    assert "http://127.0.0.1:9/train-images-idx3-ubyte.gz" in str(e.value)
    assert f"put them in {cache}" in str(e.value)
    assert list(cache.iterdir()) == []


def test_load_mnist_downloads_into_the_cache_once(server, tmp_path, monkeypatch):
    arrays = write_mnist(tmp_path / "served")
    checksums = {}
    for path in (tmp_path / "served").iterdir():
        server.routes[f"/mnist/{path.name}"] = ("ok", path.read_bytes())
        checksums[path.name] = md5(path.read_bytes())
    monkeypatch.setattr(download, "MIRRORS", (server.url + "/down/", server.url + "/mnist/"))
    monkeypatch.setattr(download, "MNIST_MD5", checksums)
    mnist = load_mnist()
    cache = tmp_path / "home" / ".cache" / "tinygrad_edu" / "mnist"
    assert mnist.source == str(cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted(checksums)
    np.testing.assert_array_equal(mnist.train_images, arrays["train_images"])
    hits = len(server.hits)
    assert hits == 8  # four files, each first tried on the 404 mirror
    load_mnist()
    assert len(server.hits) == hits


# ---- to_float, flatten ----------------------------------------------------------------------


def test_to_float_scales_to_unit_interval_and_flatten_makes_rows():
    images = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    x = to_float(images)
    assert x.dtype == np.float32 and x.shape == images.shape
    np.testing.assert_allclose(x.ravel(), np.arange(256) / 255.0, rtol=1e-7, atol=0)
    assert x.min() == 0.0 and x.max() == 1.0
    rows = flatten(digits(3)[0])
    assert rows.shape == (3, 784)
    assert flatten(np.zeros((0, 28, 28), np.uint8)).shape == (0, 784)  # an empty batch too
    np.testing.assert_array_equal(rows[1], digits(3)[0][1].ravel())
    with pytest.raises(TypeError, match="uint8"):
        to_float(x)


# ---- DataLoader -----------------------------------------------------------------------------


def batches_of(loader):
    return [(x.copy(), y.copy()) for x, y in loader]


@pytest.mark.parametrize("shuffle", [False, True])
def test_dataloader_covers_every_sample_once_per_epoch(shuffle):
    x = np.arange(103)
    loader = DataLoader((x, 2 * x), batch_size=10, shuffle=shuffle, seed=0)
    assert len(loader) == 11
    for _ in range(2):
        batches = batches_of(loader)
        assert [len(b) for b, _ in batches] == [10] * 10 + [3]
        seen = np.concatenate([b for b, _ in batches])
        np.testing.assert_array_equal(np.sort(seen), x)
        assert (not shuffle) == np.array_equal(seen, x)
        for b, y in batches:
            np.testing.assert_array_equal(y, 2 * b)


def test_dataloader_drop_last():
    loader = DataLoader(np.arange(103), batch_size=10, shuffle=True, drop_last=True, seed=1)
    assert len(loader) == 10
    batches = list(loader)
    assert len(batches) == 10 and all(len(b) == 10 for b in batches)
    assert len(np.unique(np.concatenate(batches))) == 100
    assert len(DataLoader(np.arange(100), batch_size=10, drop_last=True)) == 10
    assert len(DataLoader(np.arange(9), batch_size=10, drop_last=True)) == 0


def test_dataloader_shuffle_is_reproducible():
    x = np.arange(50)

    def run(loader):
        return [np.concatenate(list(loader)) for _ in range(3)]

    # the documented order: one permutation per epoch from np.random.default_rng(seed)
    expected = np.random.default_rng(7)
    for epoch in run(DataLoader(x, 8, shuffle=True, seed=7)):
        np.testing.assert_array_equal(epoch, expected.permutation(50))
    first = run(DataLoader(x, 8, shuffle=True, seed=7))
    assert not np.array_equal(first[0], first[1])  # a new order each epoch
    assert not np.array_equal(first[0], run(DataLoader(x, 8, shuffle=True, seed=8))[0])
    # seed=None: the global generator, which tg.manual_seed resets
    tg.manual_seed(3)
    global_first = run(DataLoader(x, 8, shuffle=True))
    tg.manual_seed(3)
    for a, b in zip(global_first, run(DataLoader(x, 8, shuffle=True))):
        np.testing.assert_array_equal(a, b)


class IndexSpy(np.ndarray):
    """An array that records how many rows each indexing takes."""

    taken: list = []

    def __getitem__(self, index):
        rows = len(np.arange(len(self))[index]) if not isinstance(index, tuple) else -1
        IndexSpy.taken.append(rows)
        return np.asarray(self)[index]


def test_dataloader_never_indexes_more_than_a_batch():
    x = np.arange(40.0).reshape(20, 2)
    IndexSpy.taken = []
    spy = x.view(IndexSpy)
    for batch in DataLoader((spy, np.arange(20)), batch_size=6, shuffle=True, seed=0):
        assert not np.shares_memory(batch[0], x)
    assert IndexSpy.taken == [6, 6, 6, 2]
    first = next(iter(DataLoader(x, batch_size=6)))
    assert np.shares_memory(first, x)  # unshuffled batches are views


def test_dataloader_over_a_dataset_object():
    class Squares:
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return np.full(2, i), i * i

    batches = list(DataLoader(Squares(), batch_size=3))
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[0][0], [[0, 0], [1, 1], [2, 2]])
    np.testing.assert_array_equal(batches[2][1], [36])


def test_dataloader_rejects_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(np.arange(3), batch_size=0)
    with pytest.raises(ValueError, match=r"differ in length: shapes \[\(3,\), \(4,\)\]"):
        DataLoader((np.arange(3), np.arange(4)))
    with pytest.raises(TypeError, match="int"):
        DataLoader(5)


# ---- the bundled subset and the full data ---------------------------------------------------


def test_bundled_subset_is_balanced_real_digits():
    subset = load_mnist_subset()
    assert subset.train_images.shape == (5000, 28, 28) and subset.test_images.shape == (1000, 28, 28)
    assert subset.train_images.dtype == np.uint8 and subset.train_labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(subset.train_labels, minlength=10), [500] * 10)
    np.testing.assert_array_equal(np.bincount(subset.test_labels, minlength=10), [100] * 10)
    for images in (subset.train_images, subset.test_images):
        assert images.min() == 0 and images.max() == 255
        assert len(np.unique(images.reshape(len(images), -1), axis=0)) == len(images)
        # digits are mostly background: the mean pixel of MNIST is about 33
        assert 20 < images.mean() < 45
    np.testing.assert_array_equal(load_mnist(subset=True).test_labels, subset.test_labels)
    package = Path(tg.__file__).parent / "data"
    assert os.path.getsize(package / "mnist_subset.npz") <= 2 * 1024 * 1024
    licence = (package / "MNIST_SUBSET_LICENSE.txt").read_text()
    for text in ("CC BY-SA 3.0", "Yann LeCun", "Corinna Cortes", "Christopher J.C. Burges"):
        assert text in licence


@pytest.mark.skipif(
    FULL_DATA is None, reason="TINYGRAD_EDU_DATA is not set (CI sets it to ../shared/datasets)"
)
def test_full_mnist_matches_the_published_checksums(monkeypatch):
    monkeypatch.setenv("TINYGRAD_EDU_DATA", FULL_DATA)
    mnist = load_mnist(download=False)
    assert mnist.source == str(Path(FULL_DATA) / "mnist")
    assert len(mnist.train_images) == 60000 and len(mnist.test_images) == 10000
    for key, sha in README_SHA256.items():
        x = getattr(mnist, key).astype(np.uint8)
        assert hashlib.sha256(idx_header(x) + x.tobytes()).hexdigest() == sha, key
    # the bundled subset is the full data at the recorded positions
    subset = load_mnist_subset()
    with np.load(Path(tg.__file__).parent / "data" / "mnist_subset.npz", allow_pickle=False) as z:
        for split in ("train", "test"):
            index = z[f"{split}_indices"]
            np.testing.assert_array_equal(
                getattr(subset, f"{split}_images"), getattr(mnist, f"{split}_images")[index]
            )
            np.testing.assert_array_equal(
                getattr(subset, f"{split}_labels"), getattr(mnist, f"{split}_labels")[index]
            )
