"""tinygrad_edu.data: IDX and CSV readers, load_mnist, downloads, the DataLoader, the bundled subset.

Input files come from datafiles.py, written from the formats' specs. Downloads go to a local
http.server on 127.0.0.1 only, never to the network. Broken inputs are in test_bad_inputs.py.
"""

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from datafiles import (
    BLOB,
    HEADERS,
    MNIST_NAMES,
    PIXEL_HEADER,
    csv_text,
    digits,
    idx_bytes,
    idx_header,
    md5,
    write_mnist,
)

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
    read_digit_recognizer,
    read_idx,
    read_mnist_csv,
    to_float,
    write_idx,
    write_submission,
)

FULL_DATA = os.environ.get("TINYGRAD_EDU_DATA")
# SHA-256 of the decompressed files, from ../shared/datasets/mnist/README.md
README_SHA256 = {
    "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


pytestmark = pytest.mark.usefixtures("offline")  # conftest.py: no real mirror, cache or CI data


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


# ---- CSV ------------------------------------------------------------------------------------


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


# ---- Kaggle's Digit Recognizer and "MNIST in CSV", from the bundled subset ---------------------


def subset_digits(n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    subset = load_mnist_subset()
    return subset.test_images[:n], subset.test_labels[:n]


def test_read_digit_recognizer_train_and_test_files(tmp_path):
    images, labels = subset_digits()
    (tmp_path / "train.csv").write_text(csv_text(images, labels, HEADERS["label,pixel0"]))
    (tmp_path / "test.csv").write_text(csv_text(images[:7], None, PIXEL_HEADER))
    train_images, train_labels = read_digit_recognizer(tmp_path / "train.csv")
    test_images, test_labels = read_digit_recognizer(tmp_path / "test.csv")
    np.testing.assert_array_equal(train_images, images)
    np.testing.assert_array_equal(train_labels, labels)
    np.testing.assert_array_equal(test_images, images[:7])
    assert test_labels is None and train_labels.dtype == np.int64 and train_images.dtype == np.uint8


@pytest.mark.parametrize("header", [None, HEADERS["label,1x1"]], ids=["pjreddie", "kaggle"])
def test_read_mnist_csv_with_and_without_its_header(tmp_path, header):
    images, labels = subset_digits()
    (tmp_path / "mnist_train.csv").write_text(csv_text(images, labels, header))
    out_images, out_labels = read_mnist_csv(tmp_path / "mnist_train.csv")
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)


def test_a_headerless_file_of_one_digit_is_not_mistaken_for_a_label_last_file(tmp_path):
    """The label-last check looks for a constant first column AND a varying last column of digits:
    a file of only sevens has a constant first column, and MNIST's last pixel is always 0."""
    images, labels = load_mnist_subset().test_images, load_mnist_subset().test_labels
    sevens = images[labels == 7][:12]
    (tmp_path / "sevens.csv").write_text(csv_text(sevens, np.full(12, 7), None))
    out_images, out_labels = read_csv(tmp_path / "sevens.csv")
    np.testing.assert_array_equal(out_images, sevens)
    assert (out_labels == 7).all()


def test_write_submission_is_kaggles_format_byte_for_byte(tmp_path):
    """Kaggle's sample_submission.csv: the header ImageId,Label, ImageId counting from 1, '\n' line ends."""
    _, labels = subset_digits(25)
    path = tmp_path / "submission.csv"
    write_submission(path, labels)
    expected = "ImageId,Label\n" + "".join(f"{i},{y}\n" for i, y in enumerate(labels.tolist(), start=1))
    assert path.read_bytes() == expected.encode("ascii")
    write_submission(path, np.array([3, 1, 4], np.uint8))  # replaces the file, atomically
    assert path.read_bytes() == b"ImageId,Label\n1,3\n2,1\n3,4\n"
    assert os.listdir(tmp_path) == ["submission.csv"]


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


def test_a_corrupt_file_is_an_error_not_a_reason_to_look_elsewhere(tmp_path, monkeypatch):
    write_mnist(tmp_path / "root")
    write_mnist(tmp_path / "env" / "mnist")
    monkeypatch.setenv("TINYGRAD_EDU_DATA", str(tmp_path / "env"))
    images = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    (tmp_path / "root" / "train-images-idx3-ubyte.gz").write_bytes(images[:-1])
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


def test_load_mnist_download_failure_leaves_the_cache_empty_and_says_where_to_put_files(tmp_path):
    cache = tmp_path / "home" / ".cache" / "tinygrad_edu" / "mnist"
    with pytest.raises(DownloadError) as e:
        load_mnist()
    assert "http://127.0.0.1:9/train-images-idx3-ubyte.gz" in str(e.value)
    assert f"put them in {cache}" in str(e.value)
    assert list(cache.iterdir()) == []


def test_download_follows_redirects(server, tmp_path):
    server.routes["/old/a.gz"] = ("redirect", b"/new/a.gz")
    server.routes["/new/a.gz"] = ("ok", BLOB)
    download_mnist(tmp_path, mirrors=[server.url + "/old/"], checksums={"a.gz": md5(BLOB)})
    assert server.hits == ["/old/a.gz", "/new/a.gz"]
    assert (tmp_path / "a.gz").read_bytes() == BLOB


def test_a_slow_mirror_past_its_deadline_gives_way_to_the_next(server, tmp_path):
    server.routes["/slow/a.gz"] = ("trickle", BLOB)
    server.routes["/fast/a.gz"] = ("ok", BLOB)
    mirrors = [server.url + "/slow/", server.url + "/fast/"]
    download_mnist(tmp_path, mirrors=mirrors, checksums={"a.gz": md5(BLOB)}, deadline=1.0)  # trickle: 768 s
    assert (tmp_path / "a.gz").read_bytes() == BLOB and os.listdir(tmp_path) == ["a.gz"]


def serve_mnist(server, tmp_path, prefix: str) -> tuple[dict, dict]:
    arrays = write_mnist(tmp_path / "served")
    checksums = {}
    for path in (tmp_path / "served").iterdir():
        server.routes[f"{prefix}{path.name}"] = ("ok", path.read_bytes())
        checksums[path.name] = md5(path.read_bytes())
    return arrays, checksums


@pytest.mark.parametrize("how", ["arguments", "environment"])
def test_load_mnist_takes_mirrors_and_timeouts_from_arguments_or_the_environment(
    server, tmp_path, monkeypatch, how
):
    arrays, checksums = serve_mnist(server, tmp_path, "/mine/")
    monkeypatch.setattr(download, "MNIST_MD5", checksums)
    mirrors = f"{server.url}/down/ {server.url}/mine/"
    if how == "arguments":
        mnist = load_mnist(mirrors=mirrors.split(), timeout=5, deadline=20)
    else:
        monkeypatch.setenv(download.ENV_MIRRORS, mirrors.replace(" ", ","))
        monkeypatch.setenv(download.ENV_TIMEOUT, "5")
        monkeypatch.setenv(download.ENV_DEADLINE, "20")
        mnist = load_mnist()
    np.testing.assert_array_equal(mnist.train_images, arrays["train_images"])
    # every file asked of the first mirror (a 404), then of the second
    assert sorted(server.hits) == sorted(f"/{m}/{name}" for m in ("down", "mine") for name in checksums)


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


def test_dataloader_over_a_list_of_numbers_or_numpy_scalars():
    """Only a list of arrays is refused (test_bad_inputs.py); scalars are samples, as in PyTorch."""
    for samples in ([1.0, 2.0, 3.0], [np.float32(1), np.float32(2), np.float32(3)]):
        np.testing.assert_array_equal(np.concatenate(list(DataLoader(samples, batch_size=2))), [1, 2, 3])


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
