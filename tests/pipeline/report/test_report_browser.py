"""The report in a real browser: headless Chromium loads it offline, runs its script without errors,
lays out every chart and decodes every image; the screenshot is kept as a test artifact.

Needs Debian's ``chromium`` (``make install-test`` tries to install it); skipped without it.
"""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from pipeline.report import build_report

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Offline and quiet: no sandbox (tests may run as root), no GPU, no background requests of any kind.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0",
)  # fmt: skip
CONSOLE_LINE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] (.*)")
ARTIFACTS = Path(os.environ.get("FIGCURATE_TEST_ARTIFACTS") or Path(__file__).resolve().parents[3] / "test-artifacts")

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium, or make install-test as root)")


def chromium(page: Path, profile: Path, *action: str) -> tuple[str, list[str], float]:
    """Run one headless Chromium action on ``page``: (stdout, console messages, seconds taken)."""
    started = time.monotonic()
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *action, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [m.group(1) for m in CONSOLE_LINE.finditer(done.stderr)], seconds


@needs_chromium
def test_console_errors_and_blocked_requests_are_seen(tmp_path):
    """The check below would catch a script error or an outside request (the page's policy blocks and logs it)."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">"
        '</head><body><img src="https://example.invalid/x.png"><script>undefinedFunction()</script></body></html>'
    )
    _, console, _ = chromium(page, tmp_path / "profile", "--dump-dom")
    assert any("undefinedFunction" in message for message in console)
    assert any("example.invalid" in message for message in console)


@needs_chromium
def test_report_renders_in_headless_chromium(run_output, tmp_path, capsys):
    output, stats, _ = run_output
    page = build_report(output, tmp_path / "report.html", gallery_size=12, seed=0).path
    html = page.read_text()
    charts, images = html.count('<svg class="chart"'), html.count("<img ")

    dom, console, seconds = chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == [], console
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert f'data-charts-rendered="{charts}/{charts}"' in body and charts >= 5, body
    assert f'data-images-decoded="{images}/{images}"' in body and images >= 12, body
    load_ms = int(re.search(r'data-load-ms="(\d+)"', body).group(1))

    screenshot = tmp_path / "report.png"
    _, console, _ = chromium(page, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,2000")
    assert console == [], console
    with Image.open(screenshot) as shot:
        assert shot.size == (1280, 2000)
        colours = shot.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50  # text, tables and bars, not one blank colour

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot, ARTIFACTS / "report.png")
    shutil.copy(page, ARTIFACTS / "report.html")
    with capsys.disabled():  # shown on every run, not only on failure
        print(
            f"\nreport of {stats['samples']} samples, {page.stat().st_size / 1e6:.2f} MB: loaded in {load_ms} ms in the page "
            f"({seconds:.1f} s for chromium to start, load and dump the DOM); screenshot and report in {ARTIFACTS}"
        )
