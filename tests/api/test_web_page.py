"""The web page as the API serves it: routes from ``mount_web``, assets, accessibility basics, and the
page's JavaScript modules (SSE parsing, citation markers, radar geometry, timeline) under node's test runner.
The full student flow in a real browser against ``cadenza serve`` is tests/test_web_browser.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import NotFound
from api.settings import Settings
from api.web import STATIC_DIR, mount_web
from scorer.dimensions import DIMENSIONS
from scorer.schema import DimensionScore, ScoreReport, Spot, WindowScores

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "Beethoven_WoO80_var27_8bars_3_15.wav"


def make_client(settings: Settings) -> TestClient:
    app = FastAPI()
    app.state.settings = settings
    mount_web(app)
    return TestClient(app)


@pytest.fixture()
def client(settings: Settings) -> TestClient:
    return make_client(settings)


def test_index_and_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/app.js">' in page.text
    for path, kind in [
        ("/static/app.js", "javascript"),
        ("/static/styles.css", "text/css"),
        ("/static/js/sse.js", "javascript"),
        ("/static/favicon.svg", "image/svg+xml"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"], (path, response.headers["content-type"])
    assert client.get("/static/nope.js").status_code == 404
    # The package's Python source is not under /static.
    assert client.get("/static/../__init__.py").status_code == 404


def _local_references() -> dict[Path, set[str]]:
    """Every asset the page loads: src/href in index.html and ES-module imports, per file."""
    refs: dict[Path, set[str]] = {}
    html = (STATIC_DIR / "index.html").read_text()
    refs[STATIC_DIR / "index.html"] = set(re.findall(r'(?:src|href)="([^"#]+)"', html))
    for js in STATIC_DIR.rglob("*.js"):
        refs[js] = set(re.findall(r'^import .* from "([^"]+)";', js.read_text(), flags=re.M))
    return refs


def test_every_asset_is_local_and_exists(client: TestClient) -> None:
    """Works offline: no CDN or remote URL anywhere, and every referenced file is served."""
    refs = _local_references()
    assert {"/static/app.js", "/static/styles.css"} <= refs[STATIC_DIR / "index.html"]
    assert len(refs[STATIC_DIR / "app.js"]) >= 5
    for source, targets in refs.items():
        for target in targets:
            assert not re.match(r"^(https?:)?//", target), f"{source.name} loads a remote asset: {target}"
            url = (
                target
                if target.startswith("/")
                else "/static/" + str((source.parent / target).resolve().relative_to(STATIC_DIR))
            )
            assert client.get(url).status_code == 200, f"{source.name} -> {url}"
    for asset in STATIC_DIR.rglob("*"):
        if asset.suffix in {".js", ".css", ".html"}:
            assert not re.search(r"(?:src|href|url\()\s*=?\s*[\"']?https?://", asset.read_text()), asset


def test_dimension_table_is_the_scorers(client: TestClient) -> None:
    rows = client.get("/dimensions").json()
    assert [r["name"] for r in rows] == [d.name for d in DIMENSIONS]
    for row, dim in zip(rows, DIMENSIONS, strict=True):
        assert (row["kind"], row["desirable"], row["low_pole"], row["high_pole"], row["group"]) == (
            dim.kind,
            dim.desirable,
            dim.low_pole,
            dim.high_pole,
            dim.group,
        )


def test_example_recording_is_read_in_place(client: TestClient, settings: Settings) -> None:
    listing = client.get("/examples").json()
    assert [e["name"] for e in listing] == [EXAMPLE]
    source = settings.percepiano_dir / "examples" / EXAMPLE
    assert listing[0]["size_bytes"] == source.stat().st_size
    audio = client.get(listing[0]["url"])
    assert audio.status_code == 200
    assert audio.content == source.read_bytes()
    assert audio.content[:4] == b"RIFF"
    # The recording is third-party data: it must not have been copied into the repository.
    assert not list(REPO.glob(f"**/{EXAMPLE}")), "example recording copied into the repo"


@pytest.mark.parametrize(
    "name", ["other.wav", "..%2F..%2Flabels%2Flabel_2round_mean_reg_19_with0_rm_highstd0.json", "README.md"]
)
def test_unknown_example_is_not_found(client: TestClient, name: str) -> None:
    # The API's central handler turns NotFound into 404; this bare app lets it surface.
    try:
        response = client.get(f"/examples/{name}")
    except NotFound as err:
        assert "no example recording" in err.message
    else:
        assert response.status_code == 404


def test_no_examples_without_percepiano(tmp_path: Path) -> None:
    client = make_client(Settings(home=tmp_path / "home", shared_dir=tmp_path / "empty"))
    assert client.get("/examples").json() == []


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.buttons: list[dict[str, str | None]] = []
        self.lang: str | None = None
        self._button: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag in {"input", "select", "textarea"}:
            self.controls.append(a)
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"] or "")
        if tag == "button":
            self._button = {**a, "text": ""}
            self.buttons.append(self._button)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] = (self._button["text"] or "") + data


def test_controls_are_labelled() -> None:
    form = _Form()
    form.feed((STATIC_DIR / "index.html").read_text())
    assert form.lang == "en"
    assert form.controls
    for control in form.controls:
        assert control.get("id") in form.label_for, f"control without a <label for>: {control}"
    for button in form.buttons:
        assert (button["text"] or "").strip() or button.get("aria-label"), f"button without a name: {button}"
        assert button.get("type") in {"button", "submit"}, f"button without an explicit type: {button}"


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_text_colours_meet_wcag_aa() -> None:
    css = (STATIC_DIR / "styles.css").read_text()
    var = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    pairs = [
        ("ink", "bg"),
        ("ink", "card"),
        ("muted", "card"),
        ("muted", "bg"),
        ("accent", "card"),
        ("accent-ink", "accent"),
        ("error-ink", "error-bg"),
        ("character", "card"),
        ("quality", "card"),
    ]
    for fg, bg in pairs:
        ratio = contrast(var[fg], var[bg])
        assert ratio >= 4.5, f"--{fg} on --{bg}: contrast {ratio:.2f} < 4.5"
    # Group colours are used for radar labels and timeline ranges on white.
    radar = (STATIC_DIR / "js" / "radar.js").read_text()
    groups = dict(
        re.findall(r'"?([\w ]+)"?: "(#[0-9a-f]{6})"', radar.split("GROUP_COLOURS = {")[1].split("};")[0])
    )
    assert len(groups) == 8
    for group, colour in groups.items():
        assert contrast(colour, "#ffffff") >= 4.5, f"group {group} colour {colour} too light for text"
    assert contrast("#ffffff", "#1d1d1f") > 15  # sanity check of the formula (near black on white ≈ 17)


def _report() -> ScoreReport:
    # A contract-valid report over the real dimension table (values spread over the scale).
    dims = [
        DimensionScore(
            name=d.name,
            label=d.label,
            group=d.group,
            kind=d.kind,
            score=0.15 + 0.04 * d.index,
            uncertainty=0.02 + 0.003 * d.index,
            goodness=d.goodness(0.15 + 0.04 * d.index),
        )
        for d in DIMENSIONS
    ]
    return ScoreReport(
        duration_s=14.35,
        backend="embedded",
        dimensions=dims,
        windows=[WindowScores(start_s=0, end_s=10, scores={d.name: 0.5 for d in DIMENSIONS})],
        weak_spots=[
            Spot(dimension="pedal_clarity", start_s=2, end_s=7, score=0.7, severity=0.8, reason="blurred")
        ],
        strengths=[],
    )


def test_javascript_modules_under_node(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is not installed (.ci/setup.d/40-browser.sh installs it)"
    fixture = tmp_path / "fixture.json"
    table = make_client(Settings(home=tmp_path / "h")).get("/dimensions").json()
    fixture.write_text(json.dumps({"table": table, "report": _report().model_dump()}))
    run = subprocess.run(
        [node, "--test", str(REPO / "tests/browser/unit/web_modules.test.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CADENZA_WEB_FIXTURE": str(fixture)},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"^# pass [1-9]", run.stdout, flags=re.M) and re.search(
        r"^# fail 0", run.stdout, flags=re.M
    )


def test_the_api_app_serves_the_page(settings: Settings) -> None:
    """The REST service's app factory mounts the page (api/app.py calls mount_web)."""
    from api.app import create_app

    client = TestClient(create_app(settings))  # no lifespan: only the routes are needed
    page = client.get("/")
    assert page.status_code == 200 and "Cadenza" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert [d["name"] for d in client.get("/dimensions").json()] == [d.name for d in DIMENSIONS]
    missing = client.get("/examples/nope.wav")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
