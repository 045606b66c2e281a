"""Hypothesis profiles for the property tests, and shared fixtures.

"ci" (the default) is reproducible and fast: the same examples on every run, no example
database. "dev" explores more and differently each run: `HYPOTHESIS_PROFILE=dev python -m pytest`.
"""

import importlib.util
import os
from pathlib import Path

import pytest
from datafiles import LocalServer
from hypothesis import HealthCheck, settings

import tinygrad_edu.data.download as download

# NOTE: deadline=None because a gradcheck's run time depends on the drawn shapes, and a slow
# first call (imports, caches) would otherwise be reported as a flaky failure.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=50,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def doc_images():
    """scripts/make_doc_images.py as a module: its graphs are the docs' worked examples."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "make_doc_images.py"
    spec = importlib.util.spec_from_file_location("make_doc_images", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No test reaches the real mirrors, the user's cache or the CI data unless it asks to."""
    monkeypatch.setattr(download, "MIRRORS", ("http://127.0.0.1:9/",))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("TINYGRAD_EDU_DATA", download.ENV_MIRRORS, download.ENV_TIMEOUT, download.ENV_DEADLINE):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1 (see datafiles.LocalServer): set `server.routes[path]`."""
    httpd = LocalServer()
    yield httpd
    httpd.stop()
