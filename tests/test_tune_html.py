"""`dvhpc tune --html` (issue 18, item 4): one self-contained file, opened in a real headless browser.

The browser is Debian's chromium: the fixture installs it (apt-get, as root on Debian) when it is
missing, else the test skips saying why. Chromium renders the page offline (no network flags, a fresh
profile), takes a screenshot and dumps the DOM it built; the test reads the screenshot's pixels
(a small PNG decoder below) and finds the charts' bars in the colours of the jobs' states.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conftest import FIXTURES
from test_tune import run

pytestmark = pytest.mark.slow

SPEC = FIXTURES / "tune" / "site.yaml"
MIXED = FIXTURES / "tune" / "sacct-mixed.txt"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium binary; installed from Debian's packages when missing (root only)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get") or not Path("/etc/debian_version").exists():
        pytest.skip("chromium is not installed, and installing it needs root and apt-get on Debian")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                                                "chromium"]):
        proc = subprocess.run(args, capture_output=True, text=True, timeout=900, env=env, check=False)
        if proc.returncode != 0:
            pytest.skip(f"could not install chromium: {' '.join(args)}: {proc.stderr.strip()[-500:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("apt-get installed chromium but it is not on PATH")
    return found


def browser(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=180, check=False)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit PNG (what chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    size = 3 if colour == 2 else 4
    raw, rows, prev = zlib.decompress(b"".join(chunks)), [], bytearray(width * size)
    stride = width * size
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up, corner = prev[x], prev[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line) if size == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
        prev = line
    return width, height, rows


def test_html_is_self_contained_and_renders_in_a_real_browser(chromium, tmp_path):
    page = tmp_path / "tune.html"
    proc = run("tune", str(SPEC), "--from", str(MIXED), "--min-jobs", "1", "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    # self-contained: no script, no stylesheet or image from elsewhere, no address but SVG's namespace
    assert not re.search(r"<script|<link|<img|<iframe|src=|url\(|@import", html, re.I)
    assert set(re.findall(r"https?://[^\"'\s<>]+", html)) == {"http://www.w3.org/2000/svg"}

    shot = tmp_path / "shot.png"
    proc = browser(chromium, tmp_path / "profile", "--window-size=800,1800", f"--screenshot={shot}", page.as_uri())
    assert shot.is_file(), proc.stderr[-2000:]
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (800, 1800)
    colours = {bytes(row[i:i + 3]) for row in rows for i in range(0, len(row), 3)}
    for state_colour in ("2e7d32", "c62828", "ef6c00"):  # COMPLETED, OUT_OF_MEMORY, TIMEOUT bars were drawn
        assert bytes.fromhex(state_colour) in colours, state_colour

    proc = browser(chromium, tmp_path / "profile2", "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    charts = re.findall(r'<svg[^>]*class="chart" data-rule="(\w+)" data-key="(\w+)"', dom)
    assert sorted(charts) == sorted((rule, key) for rule in ("plot", "prep", "train") for key in ("mem", "time"))
    train_mem = dom.split('data-rule="train" data-key="mem"', 1)[1].split("</svg>", 1)[0]
    assert train_mem.count('class="used"') == 2  # both attempts of train: the OOM and the success
    assert 'class="requested"' in train_mem and 'class="proposed"' in train_mem
