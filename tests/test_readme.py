"""The README is a map: short, and every repository path it names exists (issue 20).

Candidates are inline code spans and markdown link targets outside fenced blocks. A code span counts as a
repository path when it has no spaces or placeholders and either starts with a top-level entry of the
repository (`scorer/…`, `.ci/…`) or ends in a source-file extension; links are resolved relative to the file
that holds them. URLs, `../shared/…`, `~/…`, absolute paths, environment variables and command lines are not
repository paths and are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAX_README_BYTES = 15_000

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
BRACES = re.compile(r"\{([^{}]*)\}")
SOURCE_EXT = re.compile(r"\.(py|md|toml|ya?ml|json|jsonl|sh|ini|txt|tsv|npz|png|mjs|js|css|html|cfg)$")
NOT_A_PATH = ("http://", "https://", "mailto:", "../", "~", "/", "$", "-", ".venv")
PLACEHOLDER = set("<>|=…$@%!?;'\"()[]")
# Paths the package READMEs name that exist only at run time: written by the browser tests, copied by the operator.
CREATED_AT_RUN_TIME = {"results/web-*.png", "docker/.env"}
SKIP_DIRS = {
    ".git",
    ".venv",
    ".venv-vllm",
    "node_modules",
    ".cadenza",
    ".mypy_cache",
    ".ruff_cache",
    "results",
}


def _top_level() -> set[str]:
    return {p.name for p in ROOT.iterdir() if not p.name.startswith(".")} | {".ci"}


def _prose(text: str) -> str:
    """The text without fenced code blocks (commands there are examples, not path claims)."""
    return FENCE.sub("", text)


def _expand(token: str) -> list[str]:
    """`dev.{json,md,png}` names three files."""
    match = BRACES.search(token)
    if not match:
        return [token]
    head, tail = token[: match.start()], token[match.end() :]
    return [x for part in match.group(1).split(",") for x in _expand(head + part + tail)]


def _exists(path: Path, want_dir: bool) -> bool:
    if "*" in path.name:
        return any(path.parent.glob(path.name))
    return path.is_dir() if want_dir else path.exists()


def code_span_paths(text: str) -> list[str]:
    """Repository-relative paths named in inline code spans."""
    top = _top_level()
    found: list[str] = []
    for raw in CODE_SPAN.findall(_prose(text)):
        token = raw.split(": ", 1)[0].strip()  # `api/app.py: create_app` names api/app.py
        if not token or token.startswith(NOT_A_PATH) or any(c.isspace() or c in PLACEHOLDER for c in token):
            continue
        if "/" not in token:
            continue  # a bare name (`model.npz`, `MANIFEST.tsv`) says nothing about where it lives
        first, last = token.split("/", 1)[0], token.rstrip("/").rsplit("/", 1)[-1]
        if first in top or SOURCE_EXT.search(last):
            found.extend(_expand(token))
    return found


def link_targets(text: str) -> list[str]:
    """Local link targets (relative to the file), without fragments."""
    found = []
    for target in LINK.findall(_prose(text)):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        target = target.split("#", 1)[0]
        if target:
            found.append(target)
    return found


def missing_code_paths(md: Path) -> list[str]:
    return sorted({p for p in code_span_paths(md.read_text()) if not _exists(ROOT / p, p.endswith("/"))})


def missing_links(md: Path) -> list[str]:
    return sorted({t for t in link_targets(md.read_text()) if not _exists(md.parent / t, t.endswith("/"))})


def package_readmes() -> list[Path]:
    return sorted(
        p
        for p in ROOT.rglob("*.md")
        if p != README and not SKIP_DIRS.intersection(p.relative_to(ROOT).parts) and p.name == "README.md"
    )


def test_readme_is_short() -> None:
    size = len(README.read_bytes())
    assert size < MAX_README_BYTES, f"README.md is {size} bytes; move details beside what they describe"


def test_readme_paths_exist() -> None:
    missing = missing_code_paths(README) + missing_links(README)
    assert not missing, f"README.md names paths that do not exist: {missing}"


def test_readme_names_the_packages() -> None:
    named = set(code_span_paths(README.read_text())) | set(link_targets(README.read_text()))
    for package in ("scorer/", "corpus/", "rag/retrieval/", "rag/generation/", "api/", "eval/", "docker/"):
        assert any(p.startswith(package) for p in named), f"the code map does not name {package}"


@pytest.mark.parametrize("md", package_readmes(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_package_readme_paths_exist(md: Path) -> None:
    missing = missing_links(md) + [p for p in missing_code_paths(md) if p not in CREATED_AT_RUN_TIME]
    assert not missing, f"{md.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_extraction_rules() -> None:
    text = (
        "See `scorer/inference/service.py`, `api/app.py: create_app`, `eval/results/dev.{json,md}`, `docker/`,\n"
        "`../shared/corpus`, `~/.cache/cadenza`, `CADENZA_HOME`, `cadenza score FILE`, `hosted_vllm/meta/x`,\n"
        "`scorr/typo.py`, `MANIFEST.tsv` and [results](eval/results/README.md), [web](https://x.org/a.md).\n"
        "```bash\ncat `not/a/claim.py`\n```\n"
    )
    assert code_span_paths(text) == [
        "scorer/inference/service.py",
        "api/app.py",
        "eval/results/dev.json",
        "eval/results/dev.md",
        "docker/",
        "scorr/typo.py",
    ]
    assert link_targets(text) == ["eval/results/README.md"]
