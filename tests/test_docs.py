"""Every ```python block of README.md and docs/*.md runs, so the docs cannot rot.

Every docs page ends with an "## Exercises" section of two or three exercises, each with its
answer folded in a <details> block that holds code; that code runs like any other block, so the
answers are checked too (they assert what they claim).

Each block is its own test (id: file and line). The blocks of one file share a namespace and run
in order, as a reader would type them, in a temporary directory (files they write land there).
A block opts out only with a `<!-- no-test -->` line just above its fence: keep that for blocks
that need what a test cannot have (the full MNIST download, a long training run).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
FILES = [ROOT / "README.md", *PAGES]
NO_TEST = "<!-- no-test -->"
_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def code_blocks(text: str) -> list[tuple[int, str, bool]]:
    """(line number, code, opted out) for each ```python block of a Markdown text."""
    blocks = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        blocks.append((text.count("\n", 0, m.start()) + 1, m.group(1), before == NO_TEST))
    return blocks


def _cases() -> list:
    cases = []
    for path in FILES:
        if not path.exists():
            continue
        name = str(path.relative_to(ROOT))
        for index, (line, _, skipped) in enumerate(code_blocks(path.read_text(encoding="utf-8"))):
            marks = [pytest.mark.skip(reason=f"{NO_TEST} marker")] if skipped else []
            cases.append(pytest.param(path, index, id=f"{name}:{line}", marks=marks))
    return cases


class _FileRun:
    """The shared namespace of one file's blocks, how many have run, and which failed."""

    def __init__(self, path: Path) -> None:
        self.namespace: dict = {"__name__": f"docs_{path.stem}"}
        self.next = 0
        self.failed: list[str] = []


_runs: dict[Path, _FileRun] = {}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("docs")


def _exec(run: _FileRun, path: Path, line: int, code: str) -> None:
    run.next += 1
    try:
        exec(compile(code, f"{path.name}:{line}", "exec"), run.namespace)
    except BaseException:
        run.failed.append(f"{path.name}:{line}")
        raise


@pytest.mark.parametrize(("path", "index"), _cases())
def test_code_block(path: Path, index: int, workdir: Path, monkeypatch) -> None:
    blocks = code_blocks(path.read_text(encoding="utf-8"))
    run = _runs.setdefault(path, _FileRun(path))
    (workdir / path.stem).mkdir(exist_ok=True)
    monkeypatch.chdir(workdir / path.stem)
    # Blocks before this one run first (when a test is selected alone, or after an opted-out one).
    while run.next < index:
        line, code, skipped = blocks[run.next]
        if skipped:
            run.next += 1
            continue
        try:
            _exec(run, path, line, code)
        except Exception as e:
            pytest.fail(f"an earlier block ({path.name}:{line}) fails: {type(e).__name__}: {e}")
    if run.failed:
        pytest.fail(f"an earlier block of the same file failed ({', '.join(run.failed)})")
    line, code, _ = blocks[index]
    _exec(run, path, line, code)


def test_blocks_are_found():
    text = (
        "intro\n\n```python\nx = 1\n```\n\n<!-- no-test -->\n```python\ndownload()\n```\n```bash\nls\n```\n"
    )
    assert code_blocks(text) == [(3, "x = 1\n", False), (8, "download()\n", True)]
    assert any(p.parent.name == "docs" for p in FILES)


_DETAILS = re.compile(r"^<details>\n(.*?)^</details>[ \t]*$", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_page_ends_with_exercises_whose_answers_run(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    _, found, exercises = text.rpartition("\n## Exercises\n")
    assert found, f"{path.name}: no '## Exercises' section"
    assert "\n## " not in exercises, f"{path.name}: '## Exercises' must be the last section"
    answers = _DETAILS.findall(exercises)
    assert 2 <= len(answers) <= 3, f"{path.name}: {len(answers)} answers in <details>, expected 2 or 3"
    assert exercises.count("\n### ") == len(answers), f"{path.name}: one '### ' heading per exercise"
    for answer in answers:
        assert "<summary>" in answer, f"{path.name}: an answer without <summary>"
        blocks = code_blocks(answer)
        assert blocks and not any(skipped for _, _, skipped in blocks), (
            f"{path.name}: each answer holds code that the docs test runs (no {NO_TEST})"
        )
