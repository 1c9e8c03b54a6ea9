"""The import graph: scorer/, rag/ and corpus/ never import api/ (not even lazily inside a function), and
each package's public API imports on its own, in a fresh interpreter, without pulling api/ in."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRARIES = ("scorer", "rag", "corpus")
PUBLIC_APIS = (
    "scorer",
    "scorer.inference",
    "scorer.training",
    "corpus",
    "rag",
    "rag.retrieval",
    "rag.generation",
)
IMPORTERS = {"import_module", "__import__"}  # importlib.import_module("api.x") is an import too


def _is_api(module: str | None) -> bool:
    return module is not None and (module == "api" or module.startswith("api."))


def api_imports(source: str, filename: str) -> list[str]:
    """Every place in ``source`` that imports api/ (``line: statement``), at any depth."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if _is_api(a.name)]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 and _is_api(node.module) else []
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            arg = node.args[0].value
            names = [arg] if called in IMPORTERS and isinstance(arg, str) and _is_api(arg) else []
        else:
            continue
        found += [(node.lineno, name) for name in names]
    return [f"{line}: {name}" for line, name in sorted(found)]  # ast.walk is breadth-first


def test_the_checker_sees_every_form_of_import() -> None:
    source = (
        "import api\nimport os, api.settings as s\nfrom api.errors import STATUS\nfrom api import cli\n"
        "def f():\n    from api.settings import Settings\n    return importlib.import_module('api.console')\n"
        "if TYPE_CHECKING:\n    import api.app\n"
        "import apis\nfrom apiary import x\nfrom . import api\nfrom .api import y\nimport rag.api\n"
    )
    assert api_imports(source, "<test>") == [
        "1: api",
        "2: api.settings",
        "3: api.errors",
        "4: api",
        "6: api.settings",
        "7: api.console",
        "9: api.app",
    ]


@pytest.mark.parametrize("package", LIBRARIES)
def test_libraries_never_import_api(package: str) -> None:
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    offences = {
        str(path.relative_to(REPO)): hits
        for path in files
        if (hits := api_imports(path.read_text(encoding="utf-8"), str(path)))
    }
    assert offences == {}, f"{package}/ must not import api/ (configuration comes in by argument): {offences}"


def isort_key(name: str) -> tuple[int, list[object]]:
    """ruff's RUF022 order for __all__: SCREAMING_CASE, then CamelCase, then the rest; natural sort within."""
    group = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    return group, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def test_isort_key_orders_like_ruff() -> None:
    names = [
        "load_score",
        "Scorer",
        "NAMES",
        "BY_NAME",
        "_private",
        "Dimension",
        "X",
        "v10",
        "v2",
        "DIMENSIONS",
    ]
    assert sorted(names, key=isort_key) == [
        "BY_NAME",
        "DIMENSIONS",
        "NAMES",
        "Dimension",
        "Scorer",
        "X",
        "_private",
        "load_score",
        "v2",
        "v10",
    ]


PROBE = """
import json, sys
package = __import__(sys.argv[1], fromlist=["__all__"])
names = list(getattr(package, "__all__", []))
missing = [n for n in names if not hasattr(package, n)]
print(json.dumps({"all": names, "missing": missing,
                  "api": sorted(m for m in sys.modules if m == "api" or m.startswith("api."))}))
"""


@pytest.mark.parametrize("package", PUBLIC_APIS)
def test_public_api_imports_on_its_own_without_api(package: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, package],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, f"import {package} failed:\n{run.stderr[-3000:]}"
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    names = probe["all"]
    assert names, f"{package}.__all__ is missing or empty"
    assert len(set(names)) == len(names), f"{package}.__all__ repeats a name"
    assert names == sorted(names, key=isort_key), f"{package}.__all__ is not sorted (ruff RUF022 order)"
    assert probe["missing"] == [], f"{package}.__all__ names what it does not define"
    assert probe["api"] == [], f"importing {package} and its public names loaded {probe['api']}"
