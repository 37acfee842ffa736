"""The layers of docs/architecture.md hold: `lint-imports` (in `make test`) keeps its contracts
on the tree, and these tests show that it would fail on a wrong import, and that its list of
the core's modules leaves none out. And every module and function stays short enough to read
(at most 600 and 80 lines)."""

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("clearance", "declarations", "refunds", "publications")
# The rooms above the filing app, and the two modules that gather every app.
NOT_CORE = {"clearance.risk", "clearance.review", "clearance.urls", "clearance.celery"}


def contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["name"]: contract for contract in config["contracts"]}


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the apps and the configuration, to break on purpose."""
    for app in APPS:
        shutil.copytree(
            ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__", "templates")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{statement}  # noqa: E402\n")


def test_every_module_of_the_core_is_under_its_contract():
    core = {
        f"clearance.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "clearance").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    } - NOT_CORE
    listed = set(contracts()["The core imports no other app"]["source_modules"])
    assert core == listed


def test_the_tree_keeps_its_contracts(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_core_importing_the_filing_app_breaks_a_contract(tree):
    add_import(tree, "clearance.money", "from declarations.models import Declaration")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "The core imports no other app BROKEN" in result.stdout
    assert "clearance.money -> declarations.models" in result.stdout


def test_risk_importing_review_breaks_the_layers(tree):
    add_import(tree, "clearance.risk.rules", "from clearance.review import release")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "Layers: payments and publications over review, over risk, over filing BROKEN" in (
        result.stdout
    )


def test_payments_and_publications_stay_apart(tree):
    add_import(tree, "publications.publishing", "from refunds.models import Payment")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "Payments and publications never import each other BROKEN" in result.stdout


MODULE_LINES = 600
FUNCTION_LINES = 80


def product_modules() -> list[Path]:
    """The apps' Python modules, migrations aside (tests and benchmarks live elsewhere)."""
    return [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
    ] + [ROOT / "manage.py"]


def test_no_module_is_too_long_to_read():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in product_modules()
        if (lines := len(path.read_text().splitlines())) > MODULE_LINES
    }
    assert long == {}


def test_no_function_is_too_long_to_read():
    long = {}
    for path in product_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}
