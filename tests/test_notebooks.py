"""The notebooks of examples/notebooks run top to bottom in a real Jupyter kernel (nbclient, ipykernel).

Each notebook is executed in a fresh `python3` kernel whose working directory is the notebooks'
folder, as Jupyter would run it; the kernel is told to import tinygrad_edu from this checkout
(PYTHONPATH), so the package under test is the one the notebooks see. A failing cell is reported
by its number, its first lines and the error. The exercises notebook runs twice: with the cells
to fill replaced by examples/notebooks/solutions/ (every check must pass), and as committed
(every check must fail, with the message that tells the student what is missing).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "examples" / "notebooks"
SOLUTIONS = FOLDER / "solutions"
NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))
EXERCISES = FOLDER / "05_exercises.ipynb"
CELL_TIMEOUT = 120  # seconds; the slowest cell takes about 2 s on 2 busy cores
SOLUTION_TAG = "solution:"  # an exercise cell is tagged "solution:NAME", filled from solutions/NAME.py
CHECK_TAG = "check:"  # the cell that checks exercise NAME
# What the check of an exercise left as given says: "not done yet", except for the planted bugs.
UNFILLED = {"logsoftmax_bug": "depends on every z_j", "training_loop_bug": "the gradients pile up"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def kernel_env(tmp: Path) -> dict[str, str]:
    """This process's environment, with this checkout first on the kernel's import path and
    IPython's and Jupyter's state files in `tmp` (nothing is written to the home folder)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["IPYTHONDIR"] = str(tmp / "ipython")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    # NOTE: numpy's BLAS on one thread, as the MNIST examples run it: the notebooks train small
    # networks, and on a shared 2-core machine two threads waiting for each other made notebook 04
    # take 22 s instead of 12.5 s (its MLP cell 6.4 s instead of 0.3 s).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


def errors(nb: nbformat.NotebookNode) -> list[tuple[int, dict]]:
    """(cell number from 1, error output) for each cell that raised."""
    return [
        (i, out)
        for i, cell in enumerate(nb.cells, 1)
        for out in cell.get("outputs", ())
        if out.output_type == "error"
    ]


def describe(name: str, nb: nbformat.NotebookNode, number: int, error: dict) -> str:
    source = "\n".join("    " + line for line in nb.cells[number - 1].source.splitlines()[:6])
    trace = _ANSI.sub("", "\n".join(error.get("traceback", ())))[-3000:]
    return f"{name}, cell {number}:\n{source}\n{error.ename}: {error.evalue}\n{trace}"


def execute(path: Path, tmp: Path, nb: nbformat.NotebookNode | None = None, allow_errors: bool = False):
    """Run the notebook at `path` (or `nb`, as if it were at `path`); return the executed notebook.

    Without `allow_errors` the first failing cell stops the run and fails the test, named and shown."""
    nb = nbformat.read(path, as_version=4) if nb is None else nb
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env=kernel_env(tmp))
    except CellExecutionError:  # the executed notebook holds the error: report the cell and it
        pytest.fail(describe(path.name, nb, *errors(nb)[0]), pytrace=False)
    return nb


def tagged(nb: nbformat.NotebookNode, prefix: str) -> list[tuple[int, nbformat.NotebookNode, str]]:
    """(index, cell, tag) for each cell with a tag starting with `prefix`."""
    return [
        (i, cell, tag)
        for i, cell in enumerate(nb.cells)
        for tag in cell.metadata.get("tags", ())
        if tag.startswith(prefix)
    ]


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p != EXERCISES], ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    nb = execute(path, tmp_path)
    assert any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "code":
            assert not cell.outputs, (
                f"{path.name}, cell {number}: outputs stored "
                "(in Jupyter: Edit > Clear Outputs of All Cells, then save)"
            )
            assert cell.execution_count is None, f"{path.name}, cell {number}: execution count stored"
    assert nb.metadata.kernelspec.name == "python3"


def test_errors_name_the_failing_cell(tmp_path: Path) -> None:
    """The harness itself: a notebook failing in its third cell is reported by that cell, and its
    kernel imports tinygrad_edu from this checkout."""
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# a notebook"),
            nbformat.v4.new_code_cell("import tinygrad_edu as tg\nprint(tg.__file__)"),
            nbformat.v4.new_code_cell("x = 1\nraise ValueError('planted')"),
            nbformat.v4.new_code_cell("print('after')"),
        ]
    )
    with pytest.raises(
        pytest.fail.Exception, match=r"(?s)planted\.ipynb, cell 3:\n    x = 1\n.*ValueError: planted"
    ):
        execute(FOLDER / "planted.ipynb", tmp_path, nb)
    assert nb.cells[1].outputs[0].text.strip() == str(ROOT / "tinygrad_edu" / "__init__.py")


def exercise_names(nb: nbformat.NotebookNode, prefix: str) -> list[str]:
    return [tag[len(prefix) :] for _, _, tag in tagged(nb, prefix)]


def test_every_exercise_has_its_check_and_its_solution() -> None:
    nb = nbformat.read(EXERCISES, as_version=4)
    answers, checks = exercise_names(nb, SOLUTION_TAG), exercise_names(nb, CHECK_TAG)
    assert 6 <= len(answers) <= 10 and len(set(answers)) == len(answers)
    assert answers == checks  # in order, one check after each answer cell:
    assert [i + 1 for i, _, _ in tagged(nb, SOLUTION_TAG)] == [i for i, _, _ in tagged(nb, CHECK_TAG)]
    assert sorted(answers) == sorted(p.stem for p in SOLUTIONS.glob("*.py"))
    assert set(UNFILLED) <= set(answers)


def test_exercises_pass_with_the_solutions_filled_in(tmp_path: Path) -> None:
    nb = nbformat.read(EXERCISES, as_version=4)
    for _, cell, tag in tagged(nb, SOLUTION_TAG):
        cell.source = (SOLUTIONS / f"{tag[len(SOLUTION_TAG) :]}.py").read_text(encoding="utf-8")
    execute(EXERCISES, tmp_path, nb)
    for number, (_, cell, _) in enumerate(tagged(nb, CHECK_TAG), 1):
        printed = "".join(out.text for out in cell.outputs if out.output_type == "stream")
        assert printed.startswith(f"Exercise {number} (") and printed.endswith("correct.\n"), printed


def test_exercises_as_given_fail_their_checks_with_a_helpful_message(tmp_path: Path) -> None:
    nb = execute(EXERCISES, tmp_path, allow_errors=True)
    failed = {number for number, _ in errors(nb)}
    checks = tagged(nb, CHECK_TAG)
    assert failed == {i + 1 for i, _, _ in checks}, "only the check cells may fail"
    for number, (_, cell, tag) in enumerate(checks, 1):
        (error,) = [out for out in cell.outputs if out.output_type == "error"]
        expected = UNFILLED.get(tag[len(CHECK_TAG) :], "not done yet")
        assert error.ename == "ExerciseError", describe(EXERCISES.name, nb, number, error)
        assert error.evalue.startswith(f"Exercise {number} (") and expected in error.evalue, error.evalue
        # Jupyter shows the verdict alone, not a traceback into the checks' module
        assert _ANSI.sub("", "".join(error.traceback)) == f"ExerciseError: {error.evalue}"
