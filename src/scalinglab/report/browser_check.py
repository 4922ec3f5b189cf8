"""Is every figure of a report readable, as a browser shows it? (`check_report`)

A copy of the report gets a small script that, once the page has loaded, records for every image
whether it decoded and the axes recorded beside it (`data-axes`, `scalinglab.report.drawn_axes`);
headless Chromium loads the copy and prints the DOM, and the record is read back from it. Then,
for every axis of every figure:

* at least `MIN_LABELLED_TICKS` tick labels are visible inside its limits, log axis or not;
* its limits span at most `MAX_RANGE_FACTOR` times the span of the data the figure shows (in
  decades on a log axis): no exploding extrapolation decides what the reader sees. Data of a
  single value v have no span; they count as spanning v +- 10%, the view `scalinglab.fit.view`
  gives a flat set (0.2|v| linear, log10(1.1/0.9) decades log; 2 around v = 0, its +-1).

Used by tests/report/test_browser_figures.py and benchmarks/examples_check.py.
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

MAX_RANGE_FACTOR = 20.0
MIN_LABELLED_TICKS = 2
_FLAT_FRACTION = 0.1  # one value counts as spanning v +- 10% (fit.view's flat margin)
_RESULT_ATTRIBUTE = "data-figure-check"
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Runs on load (when every data: image has decoded or failed); the record goes into an attribute
# of <html>, which --dump-dom prints.
_CHECK_SCRIPT = (
    """<script>
window.addEventListener("load", () => {
  const figures = [...document.images].map(image => {
    let axes = null, error = null;
    try { axes = JSON.parse(image.dataset.axes); } catch (e) { error = String(e); }
    return {title: image.alt, complete: image.complete, natural_width: image.naturalWidth,
            natural_height: image.naturalHeight, shown_width: image.getBoundingClientRect().width,
            axes: axes, axes_error: error};
  });
  document.documentElement.setAttribute("%s", JSON.stringify(figures));
});
</script>"""
    % _RESULT_ATTRIBUTE
)


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_report(report: Path, *, timeout_s: float = 120) -> list[str]:
    """The problems of `report`'s figures as headless Chromium shows them (empty when none)."""
    return figure_problems(figures_in_browser(Path(report), timeout_s=timeout_s))


def figures_in_browser(report: Path, *, timeout_s: float = 120) -> list[dict]:
    """Per image of `report`, in page order, what the page's own script saw of it once loaded."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium is not installed (Debian package 'chromium')")
    with tempfile.TemporaryDirectory(prefix="scalinglab-browser-") as folder:
        page = Path(folder) / "report.html"
        page.write_text(report.read_text().replace("</body>", _CHECK_SCRIPT + "\n</body>", 1))
        dumped = subprocess.run(
            [
                chromium,
                *_FLAGS,
                f"--user-data-dir={Path(folder) / 'profile'}",
                "--window-size=1280,800",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        ).stdout
    found = re.search(rf'{_RESULT_ATTRIBUTE}="([^"]*)"', dumped)
    if found is None:
        raise RuntimeError(f"the page's check script left no result in the DOM chromium printed: {dumped[:200]!r}")
    return json.loads(html.unescape(found.group(1)))


def figure_problems(figures: list[dict]) -> list[str]:
    """Each problem of `figures` (as `figures_in_browser` returns them) as one line naming its figure."""
    if not figures:
        return ["no figure at all"]
    problems = []
    for figure in figures:
        title = figure["title"]
        if not (figure["complete"] and figure["natural_width"] > 0 and figure["shown_width"] > 0):
            problems.append(f"{title}: the image did not decode or is not shown")
        if not figure["axes"]:
            problems.append(f"{title}: no axes recorded ({figure['axes_error'] or 'empty data-axes'})")
            continue
        for axes in figure["axes"]:
            problems += [
                f"{title}: {name} axis ({axes[name]['label']}): {problem}"
                for name in ("x", "y")
                for problem in axis_problems(axes[name])
            ]
    return problems


def axis_problems(axis: dict) -> list[str]:
    """What makes one recorded axis unreadable: too few labelled ticks, limits far wider than its data."""
    problems = []
    if len(axis["ticks"]) < MIN_LABELLED_TICKS:
        problems.append(f"{len(axis['ticks'])} labelled tick(s) {axis['ticks']}, fewer than {MIN_LABELLED_TICKS}")
    if axis["data"] is None:
        return problems + ["no data marked on it (drawn_axes.mark_data), so its range cannot be judged"]
    factor = range_factor(axis["limits"], axis["data"], log=axis["scale"] == "log")
    if not factor <= MAX_RANGE_FACTOR:
        problems.append(
            f"limits {_pair(axis['limits'])} span {factor:.3g}x its data {_pair(axis['data'])} "
            f"(at most {MAX_RANGE_FACTOR:g}x)"
        )
    return problems


def range_factor(limits, data, *, log: bool) -> float:
    """How many times the span of `data` (low, high) the span of `limits` is, in decades when `log`."""
    return _span(*limits, log=log) / _data_span(*data, log=log)


def _data_span(low: float, high: float, *, log: bool) -> float:
    if high - low > 1e-12 * max(abs(low), abs(high)):
        return _span(low, high, log=log)
    if low == 0:
        return 2.0  # fit.view shows a flat set at zero within +-1
    return _span(abs(low) * (1 - _FLAT_FRACTION), abs(low) * (1 + _FLAT_FRACTION), log=log)


def _span(low: float, high: float, *, log: bool) -> float:
    return math.log10(high) - math.log10(low) if log else high - low


def _pair(ends) -> str:
    return f"{ends[0]:.3g} to {ends[1]:.3g}"
