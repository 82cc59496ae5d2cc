"""The HTML access report in a real headless Chromium: it renders colour-coded and says the right things.

Chromium comes from the system (`apt-get install -y chromium`); set CHROMIUM to use another binary.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from securecart_tf.config.load import load_project
from securecart_tf.report import render_html
from securecart_tf.report.access import build_report

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1400, 1000
# the page's level colours (report.html.j2: --read-bg, --write-bg, --admin-bg, --none-bg)
COLOURS = {
    "read": (0xC3, 0xF0, 0xD0),
    "write": (0xFF, 0xD9, 0x8A),
    "admin": (0xF2, 0x5C, 0x5C),
    "none": (0xF1, 0xF3, 0xF5),
}


def find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return shutil.which(configured)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip("Chromium is not installed: apt-get install -y chromium (or set CHROMIUM)")
    return found


def headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ]
    result = subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def png_rows(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and the unfiltered rows of an 8-bit, non-interlaced RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (2, 6), (depth, colour, interlace)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def count_colour(rows: list[bytes], bpp: int, rgb: tuple[int, int, int]) -> int:
    pixel = bytes(rgb) + (b"\xff" if bpp == 4 else b"")
    return sum(row.count(pixel) for row in rows)


class Dom(HTMLParser):
    """Elements with their attributes and the data-* ancestors they sit in."""

    VOID = {"meta", "br", "link", "img", "input", "hr", "path"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict[str, str | None]] = []
        self.elements: list[tuple[str, dict[str, str | None], list[dict[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes, list(self.stack)))
        if tag not in self.VOID:
            self.stack.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(__file__).resolve().parents[2]
    report = build_report(load_project(root / "access-matrix.yaml"), as_of=dt.date(2026, 6, 1))
    target = tmp_path_factory.mktemp("report") / "access.html"
    target.write_text(render_html.render(report), encoding="utf-8")
    return target


def test_the_grid_renders_colour_coded(chromium: str, page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "access.png"
    headless(chromium, tmp_path / "profile", f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri())
    data = shot.read_bytes()
    assert len(data) > 20_000  # a blank page of this size compresses to a few kilobytes
    width, height, bpp, rows = png_rows(data)
    assert (width, height) == (WIDTH, HEIGHT)
    # every level appears as its colour, over at least a few cells' worth of pixels (a cell is ~150x46)
    for level, rgb in COLOURS.items():
        assert count_colour(rows, bpp, rgb) > 15_000, level


def test_the_dom_has_every_principal_and_the_ou_tree(chromium: str, page: Path, tmp_path: Path) -> None:
    dom = Dom()
    dom.feed(headless(chromium, tmp_path / "profile", "--dump-dom", page.as_uri()).stdout)
    cells = {
        (a["data-principal"], a["data-account"]): a["data-level"]
        for tag, a, _ in dom.elements
        if tag == "td" and "data-level" in a
    }
    matrix = load_project(Path(__file__).resolve().parents[2] / "access-matrix.yaml").matrix
    assert matrix.identity_center is not None
    externals = {p.external.account_id for r in matrix.roles for p in r.trust.principals if p.external}
    subjects = {p.oidc.subject for r in matrix.roles for p in r.trust.principals if p.oidc}
    expected_rows = (
        len(matrix.identity_center.groups)
        + len(matrix.roles)
        + len(matrix.service_roles)
        + len(externals)
        + len(subjects)
    )
    assert len(cells) == expected_rows * len(matrix.accounts)
    assert cells[("group:Developers", "dev")] == "write"
    assert cells[("group:Developers", "prod")] == "none"
    assert cells[("group:SecurityTeam", "prod")] == "read"
    assert cells[("group:PlatformAdmins", "management")] == "admin"

    def inside(ou: str, key: str, value: str) -> bool:
        return any(
            a.get(key) == value and any(anc.get("data-ou") == ou for anc in ancestors)
            for _, a, ancestors in dom.elements
        )

    # the production OU box holds the prod account and the SCP attached to it
    assert inside("WorkloadsOU/ProdOU", "data-account", "prod")
    assert inside("WorkloadsOU/ProdOU", "data-scp", "deny-public-s3")
    assert inside("WorkloadsOU", "data-account", "dev")
    assert not inside("WorkloadsOU", "data-account", "security")
    assert inside("/", "data-account", "management")
