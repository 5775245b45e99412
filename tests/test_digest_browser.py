"""The digest's HTML in a real browser: it fits a 375px phone and loads nothing from anywhere.

Headless Chromium (Debian's `chromium` package) opens a test-only wrapper page that holds the
digest in same-origin `srcdoc` iframes (375px and 900px wide) plus a deliberately bad control
page, measures them from a script once everything has loaded, and writes the facts into its own
DOM, which `--dump-dom` prints. The email itself never carries a script. Host names resolve to
nothing, so even a regression cannot reach the network from a test run.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.test_digest import LONG_URL, SCRIPT, digest, render

CHROMIUM = os.environ.get("CHECKIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason=f"no Chromium at {CHROMIUM}: `apt-get install chromium` (Debian) to run these",
)
PHONE = 375
WIDE = 900

# A wide element and a remote image: proof that the probe sees what it looks for.
CONTROL = (
    '<!DOCTYPE html><html><body style="margin:0"><div style="width:500px">wide</div>'
    '<img src="http://digest-test.invalid/pixel.png" alt=""></body></html>'
)

PROBE = """
function facts(frame) {
  const doc = frame.contentDocument, win = frame.contentWindow;
  const all = [...doc.querySelectorAll("*")];
  const shown = all.filter((el) => el.getClientRects().length > 0);
  const loads = [];
  for (const el of all) {
    for (const name of ["src", "href", "srcset", "background", "poster", "data", "action"]) {
      if (el.hasAttribute(name)) loads.push(`${el.tagName} ${name}=${el.getAttribute(name)}`);
    }
    const bg = win.getComputedStyle(el).backgroundImage;
    if (bg && bg !== "none") loads.push(`${el.tagName} background-image ${bg}`);
  }
  for (const entry of win.performance.getEntriesByType("resource")) loads.push(`fetched ${entry.name}`);
  let right = 0, widest = "";
  for (const el of shown.filter((el) => doc.body.contains(el) && el !== doc.body)) {
    const r = el.getBoundingClientRect();
    if (r.right > right) { right = r.right; widest = el.outerHTML.slice(0, 120); }
  }
  let minFont = 1000;
  for (const el of shown) {
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (hasText) minFont = Math.min(minFont, parseFloat(win.getComputedStyle(el).fontSize));
  }
  const card = doc.querySelector('table[style*="max-width:600px"]');
  const box = card ? card.getBoundingClientRect() : null;
  return {
    viewport: win.innerWidth,
    scrollWidth: doc.documentElement.scrollWidth,
    bodyScrollWidth: doc.body.scrollWidth,
    right: right, widest: widest, loads: loads, minFont: minFont,
    bars: [...doc.querySelectorAll('td[bgcolor="#5b8a72"]')].map((td) => {
      const r = td.getBoundingClientRect(), style = win.getComputedStyle(td);
      return [r.height, parseFloat(style.borderTopWidth), style.backgroundColor];
    }),
    card: box && {left: box.left, right: box.right, width: box.width},
    scripts: doc.scripts.length,
    text: doc.body.innerText,
  };
}
window.addEventListener("load", () => {
  const out = {};
  for (const frame of document.querySelectorAll("iframe")) out[frame.id] = facts(frame);
  document.getElementById("result").textContent = JSON.stringify(out);
});
"""


def flags(profile: Path) -> list[str]:
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", "--mute-audio", "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
    ]  # fmt: skip


def chromium(args: list[str], tmp_path: Path) -> str:
    done = subprocess.run(
        [CHROMIUM, *flags(tmp_path / "profile"), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def wrapper(digest_html: str) -> str:
    def frame(name: str, width: int, page: str) -> str:
        return (
            f'<iframe id="{name}" width="{width}" height="800" style="border:0; display:block" '
            f'srcdoc="{html.escape(page, quote=True)}"></iframe>'
        )

    return (
        "<!DOCTYPE html><html><body style='margin:0'>"
        + frame("phone", PHONE, digest_html)
        + frame("wide", WIDE, digest_html)
        + frame("control", PHONE, CONTROL)
        + f'<pre id="result">pending</pre><script>{PROBE}</script></body></html>'
    )


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("browser")
    page = tmp / "wrapper.html"
    page.write_text(wrapper(render(digest()).html), encoding="utf-8")
    dom = chromium(["--window-size=1000,1000", "--dump-dom", page.as_uri()], tmp)
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "pending", "the probe did not run"
    return json.loads(html.unescape(found.group(1)))


def test_fits_a_375px_phone_without_sideways_scrolling(measured: dict[str, Any]) -> None:
    phone = measured["phone"]
    assert phone["viewport"] == PHONE
    assert phone["scrollWidth"] <= PHONE and phone["bodyScrollWidth"] <= PHONE
    assert phone["right"] <= PHONE, phone["widest"]  # the long URL in a note wrapped too


def test_is_600px_wide_and_centred_on_a_wide_screen(measured: dict[str, Any]) -> None:
    card = measured["wide"]["card"]
    assert card["width"] == 600
    assert abs(card["left"] - (WIDE - card["right"])) <= 1


def test_loads_nothing_from_the_network(measured: dict[str, Any]) -> None:
    assert measured["phone"]["loads"] == [] and measured["wide"]["loads"] == []
    assert measured["phone"]["scripts"] == 0


def test_the_probe_sees_overflow_and_loads_when_there_are_some(measured: dict[str, Any]) -> None:
    control = measured["control"]
    assert control["scrollWidth"] > PHONE
    assert any("pixel.png" in load for load in control["loads"])


def test_client_words_show_as_text_and_text_stays_legible(measured: dict[str, Any]) -> None:
    phone = measured["phone"]
    assert SCRIPT in phone["text"] and "{{ 7*7 }}" in phone["text"]
    assert LONG_URL[:30] in phone["text"]
    assert phone["minFont"] >= 11


def test_rating_bars_are_drawn_to_scale(measured: dict[str, Any]) -> None:
    # Alex: 4 and 6 on one experiment, 2 on the other; Kim: 8. Each a 40px track whose pale
    # top border is what the rating did not reach, 4px a point.
    bars = measured["phone"]["bars"]
    assert [height for height, _, _ in bars] == [40, 40, 40, 40]
    assert [height - gap for height, gap, _ in bars] == [16, 24, 8, 32]
    assert {colour for _, _, colour in bars} == {"rgb(91, 138, 114)"}


def test_screenshot_at_phone_width(tmp_path: Path) -> None:
    page = tmp_path / "digest.html"
    page.write_text(render(digest()).html, encoding="utf-8")
    shot = tmp_path / "digest-375.png"
    chromium([f"--window-size={PHONE},2400", f"--screenshot={shot}", page.as_uri()], tmp_path)
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert (width, height) == (PHONE, 2400)
