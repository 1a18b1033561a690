"""``landscape html3d``: one self-contained, offline HTML page per surface, which renders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from landscape.cli import main
from landscape.grid import Grid
from landscape.surface_file import Surface, write_surface

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def surface_file(tmp_path_factory) -> Path:
    grid = Grid.parse("-1:1:9", "-1:2:7")
    s = Surface.blank(grid, ["train_loss", "train_acc"], attrs={"arch": "resnet20",
                                                                  "landscape_version": "test"})
    xx, yy = np.meshgrid(s.x, s.y)
    s.values["train_loss"][:] = 0.1 + xx**2 + 0.5 * yy**2
    s.values["train_loss"][0, 0] = np.nan  # a hole
    s.values["train_acc"][:] = 90.0
    s.computed[:] = True
    return write_surface(tmp_path_factory.mktemp("html") / "s.h5", s, keep_mask=False)


def page_data(text: str) -> dict:
    block = re.search(r'<script id="surface-data" type="application/json">(.*?)</script>',
                      text, re.S)
    assert block
    return json.loads(block.group(1))


def test_page_is_self_contained_and_holds_the_data(surface_file, tmp_path, capsys):
    out = tmp_path / "s.html"
    assert main(["html3d", "--surface", str(surface_file), "--out", str(out)]) == 0
    text = out.read_text()
    assert not re.search(r"https?:", text)  # nothing fetched, no CDN
    assert "<script src" not in text and "<link" not in text
    assert out.stat().st_size < 40_000  # one small file
    data = page_data(text)
    assert data["name"] == "train_loss" and data["title"] == "resnet20"
    assert len(data["x"]) == 9 and len(data["y"]) == 7 and len(data["z"]) == 7
    assert data["z"][0][0] is None
    assert data["z"][3][4] == pytest.approx(0.1 + 0 + 0.5 * 0.5**2, rel=1e-6)
    again = tmp_path / "again.html"
    main(["html3d", "--surface", str(surface_file), "--out", str(again)])
    assert again.read_bytes() == out.read_bytes()  # same surface, same bytes

    main(["html3d", "--surface", str(surface_file), "--out", str(again), "--log",
          "--zmax", "1"])
    z = np.array(page_data(again.read_text())["z"], dtype=float)
    assert np.nanmax(z) <= 0 and np.isnan(z).sum() > 1  # log10 of values <= 1, holes above


def test_refusals(surface_file, tmp_path, cli_error):
    assert "test_loss" in cli_error("html3d", "--surface", surface_file, "--out",
                                    tmp_path / "x.html", "--surf-name", "test_loss")
    assert "no value to draw" in cli_error("html3d", "--surface", surface_file, "--out",
                                           tmp_path / "x.html", "--zmax", "0.01")
    line = cli_error("html3d", "--surface", surface_file, "--out", surface_file)
    assert "would overwrite" in line


STUB = """
const calls = {fill: 0, stroke: 0, text: 0};
const ctx = new Proxy({}, {get: (t, k) => k in t ? t[k] : (k === 'fill' ? () => calls.fill++
  : k === 'stroke' ? () => calls.stroke++ : k === 'fillText' ? () => calls.text++ : () => {}),
  set: (t, k, v) => { t[k] = v; return true; }});
const listeners = {};
function element() { return {clientWidth: 640, clientHeight: 480, getContext: () => ctx,
  addEventListener: (k, f) => { listeners[k] = f; }, textContent: ''}; }
const elements = {view: element(), info: element(),
                  'surface-data': {textContent: DATA}};
globalThis.document = {getElementById: (id) => elements[id]};
globalThis.window = {addEventListener: (k, f) => { listeners[k] = f; }, devicePixelRatio: 1};
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_viewer_script_draws_and_turns_under_node(surface_file, tmp_path):
    """The page's script, run against a stub canvas: it draws every cell with a value, and
    rotating or zooming redraws without error."""
    out = tmp_path / "s.html"
    main(["html3d", "--surface", str(surface_file), "--out", str(out)])
    text = out.read_text()
    data = re.search(r'application/json">(.*?)</script>', text, re.S).group(1)
    script = re.search(r"<script>\n(.*?)</script>", text, re.S).group(1)
    check = """
const before = calls.fill;
window.landscapeViewer.turn(30, -20);
window.landscapeViewer.zoom(1.5);
listeners.wheel({deltaY: 100, preventDefault: () => {}});
const cells = window.landscapeViewer.draw();
console.log(JSON.stringify({cells, info: elements.info.textContent, first: before,
                            fills: calls.fill, text: calls.text}));
"""
    js = tmp_path / "run.js"
    js.write_text(f"const DATA = {json.dumps(data)};\n{STUB}\n{script}\n{check}")
    done = subprocess.run(["node", str(js)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["cells"] == 8 * 6 - 1  # every cell but the one at the hole's corner
    assert result["first"] >= 47 and result["text"] >= 3
    assert "train_loss" in result["info"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_page_renders_in_headless_chromium(surface_file, tmp_path):
    out = tmp_path / "s.html"
    main(["html3d", "--surface", str(surface_file), "--out", str(out)])
    done = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                           "--enable-logging=stderr", "--v=0", "--dump-dom", out.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "cells). Drag to rotate" in done.stdout  # the script ran to its first drawing
    errors = [line for line in done.stderr.splitlines()
              if "Uncaught" in line or ("CONSOLE" in line and "Error" in line)]
    assert not errors, errors
