"""Test inputs built from the formats' specs, shared by test_data.py and test_bad_inputs.py.

IDX files are written out by hand with `struct` from the format's spec, CSV files with string
joins, so the readers are checked against an independent writer. `LocalServer` serves bytes on
127.0.0.1 in every way a real mirror can go wrong; tests never reach the network.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import struct
import threading
from pathlib import Path

import numpy as np

MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
HEADERS = {
    "label,1x1": "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)),
    "label,pixel0": "label," + ",".join(f"pixel{i}" for i in range(784)),
    "headerless": None,
}
PIXEL_HEADER = ",".join(f"pixel{i}" for i in range(784))
BLOB = bytes(range(256)) * 300  # 76,800 bytes: a "file" on the local server


def idx_header(x: np.ndarray, type_code: int = 0x08) -> bytes:
    """The IDX header from the spec: bytes 0, 0, type code, ndim; then the dims as big-endian uint32."""
    return struct.pack(">BBBB", 0, 0, type_code, x.ndim) + struct.pack(f">{x.ndim}I", *x.shape)


def idx_bytes(x: np.ndarray, type_code: int = 0x08, fmt: str = "B") -> bytes:
    """A whole IDX file: the header, then the values big-endian (`fmt` is their struct code)."""
    return idx_header(x, type_code) + struct.pack(f">{x.size}{fmt}", *x.ravel().tolist())


def digits(n: int, seed: int = 0, side: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """n random images (uint8, side × side) and the labels 0, 1, …, 9, 0, 1, …"""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    return images, labels


def write_mnist(folder: Path, n_train: int = 20, n_test: int = 10, ext: str = ".gz", seed: int = 0) -> dict:
    """The four MNIST IDX files of random digits in `folder`; returns the arrays by MNIST_NAMES key."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = digits(n, seed + n)
    for key, name in MNIST_NAMES.items():
        content = idx_bytes(arrays[key])
        (folder / (name + ext)).write_bytes(gzip.compress(content) if ext == ".gz" else content)
    return arrays


def csv_text(images: np.ndarray, labels: np.ndarray | None, header: str | None, newline: str = "\n") -> str:
    """An MNIST CSV file: an optional header, then per line the label (if any) and the pixels."""
    rows = [",".join(map(str, img.ravel().tolist())) for img in images]
    if labels is not None:
        rows = [f"{y},{row}" for y, row in zip(labels.tolist(), rows)]
    return newline.join(([header] if header else []) + rows) + newline


def md5(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers GET path with server.routes[path] = (kind, body), kind one of:

    ok          the body, with its true Content-Length
    truncated   claims the whole length, sends half, hangs up
    stall       claims the whole length, sends half, then keeps the connection open, silent
    short       claims half the length (a lie) and sends the whole body
    trickle     claims the whole length, sends one byte every 10 ms
    drop        hangs up before answering
    redirect    302 to the path in body
    (missing)   404
    """

    def do_GET(self):
        self.server.hits.append(self.path)
        kind, body = self.server.routes.get(self.path, ("404", b""))
        if kind == "404":
            self.send_error(404)
            return
        if kind == "drop":
            self.close_connection = True
            return
        if kind == "redirect":
            self.send_response(302)
            self.send_header("Location", body.decode())
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) // 2 if kind == "short" else len(body)))
        self.end_headers()
        try:
            if kind == "trickle":
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    if self.server.stopping.wait(0.01):
                        return
                return
            self.wfile.write(body[: len(body) // 2] if kind in ("truncated", "stall") else body)
            if kind == "stall":
                self.wfile.flush()
                self.server.stopping.wait(10)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            pass

    def log_message(self, *args):
        pass


class LocalServer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 in a thread; `url`, `routes`, `hits` (paths asked for)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.hits: list[str] = []
        self.stopping = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()  # ends trickling and stalled answers
        self.shutdown()
        self.server_close()
        self._thread.join()
