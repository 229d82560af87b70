"""pytest plugin overhead, report rendering and the HTML report in a real browser.

Run from the repository root::

    python benchmarks/plugin_and_reports.py

1. Start-up cost the plugin adds to every pytest run in the environment: ``pytest
   --collect-only`` on a one-test project, with the plugin and with ``-p
   no:supervisor_testing`` (median of several runs), and whether torch got imported.
2. Rendering the Markdown and the self-contained HTML report for 6 supervisors x 2 stress
   corpora with 2,000 stress and 10,000 nominal scores each (plots, tables, missed-input
   grids of 28 x 28 images); the HTML's size.
3. Loading that HTML in headless Chromium (where installed) with networking disabled, and
   checking from the screenshot that the inline plots were drawn.

Writes ``benchmarks/results/plugin_and_reports.json`` and keeps the browser's screenshot as
``benchmarks/results/plugin_and_reports.png``, so the rendered page can be looked at.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a script run from a checkout, not an installed package
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from supervisor_testing.corpus import GeneratorInfo, SourceInfo, write_corpus  # noqa: E402
from supervisor_testing.evaluate import evaluate_scores  # noqa: E402
from supervisor_testing.report import ReportData, html_report, markdown_report  # noqa: E402

RESULT_PATH = REPO / "benchmarks" / "results" / "plugin_and_reports.json"
SCREENSHOT_PATH = RESULT_PATH.with_suffix(".png")
SEED = 20240601
ROC_BLUE = np.array([0x1F, 0x77, 0xB4])


def pytest_startup(directory: Path, *, repeats: int = 5) -> dict[str, Any]:
    """Median wall time of ``pytest --collect-only`` with and without the plugin."""
    (directory / "test_one.py").write_text("def test_one():\n    assert True\n")
    (directory / "conftest.py").write_text(
        "import sys\n\ndef pytest_sessionfinish(session):\n"
        "    open('heavy.txt', 'w').write(' '.join(m for m in ('torch', 'scipy') "
        "if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    timings: dict[str, list[float]] = {"with plugin": [], "without plugin": []}
    heavy = ""
    for _ in range(repeats):
        for label, extra in (
            ("with plugin", []),
            ("without plugin", ["-p", "no:supervisor_testing"]),
        ):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 "--collect-only", *extra],
                cwd=directory, env=env, check=True, capture_output=True,
            )  # fmt: skip
            timings[label].append(time.perf_counter() - start)
            if label == "with plugin":
                heavy = (directory / "heavy.txt").read_text()
    with_plugin = statistics.median(timings["with plugin"])
    without = statistics.median(timings["without plugin"])
    return {
        "with_plugin_s": with_plugin,
        "without_plugin_s": without,
        "overhead_s": with_plugin - without,
        "heavy_modules_imported": heavy.split(),
        "repeats": repeats,
    }


def report_inputs(directory: Path) -> tuple[ReportData, dict[str, Any]]:
    """12 results with scores, and two 28 x 28 stress corpora for the missed-input grids."""
    rng = np.random.default_rng(SEED)
    generator = torch.Generator().manual_seed(SEED)
    corpora = {}
    for name in ("far-ood", "corrupted"):
        n = 2000
        corpora[name] = write_corpus(
            directory / name,
            {
                "images": torch.randint(0, 256, (n, 1, 28, 28), generator=generator,
                                        dtype=torch.uint8),
                "labels": torch.full((n,), -1),
                "label_probs": torch.zeros(n, 10),
                "source_index": torch.arange(n),
            },
            name=name, kind="far-ood", class_names=tuple(str(i) for i in range(10)),
            generator=GeneratorInfo("synthetic", "1", {}, 0),
            source=SourceInfo("synthetic", "test", "0" * 64),
        )  # fmt: skip
    results = []
    for index in range(6):
        for name in corpora:
            shift = 0.3 + 0.3 * index
            results.append(
                evaluate_scores(
                    rng.normal(shift, 1.0, 2000),
                    rng.normal(0.0, 1.0, 10000),
                    rng.normal(0.0, 1.0, 5000),
                    supervisor=f"supervisor-{index}",
                    stress=name,
                    nominal="nominal",
                    resamples=200,
                    seed=index,
                )
            )
    return ReportData(results=tuple(results), title="Benchmark report"), corpora


def render(data: ReportData, corpora: dict[str, Any], directory: Path) -> dict[str, Any]:
    start = time.perf_counter()
    markdown = markdown_report(data)
    markdown_s = time.perf_counter() - start
    start = time.perf_counter()
    document = html_report(data, corpora=corpora)
    html_s = time.perf_counter() - start
    page = directory / "report.html"
    page.write_text(document)
    return {
        "results": len(data.results),
        "markdown_s": markdown_s,
        "markdown_bytes": len(markdown.encode()),
        "html_s": html_s,
        "html_bytes": len(document.encode()),
        "inline_images": document.count("data:image/png;base64,"),
        "external_references": document.count('src="http') + document.count('href="http'),
        "page": page,
    }


def browser_check(page: Path, directory: Path) -> dict[str, Any]:
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if browser is None:
        return {"browser": None, "note": "no chromium installed (apt-get install chromium)"}
    version = subprocess.run([browser, "--version"], capture_output=True, text=True).stdout
    shot = directory / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        start = time.perf_counter()
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--hide-scrollbars",
             "--window-size=1200,4000", f"--screenshot={shot}", page.as_uri()],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        seconds = time.perf_counter() - start
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    blue = int((np.abs(pixels - ROC_BLUE).max(axis=-1) <= 8).sum())
    SCREENSHOT_PATH.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT_PATH)
    return {
        "browser": version.strip(),
        "screenshot": str(SCREENSHOT_PATH.relative_to(REPO)),
        "screenshot_s": seconds,
        "screenshot_size": list(pixels.shape[:2]),
        "roc_curve_pixels": blue,
        "plots_drawn": blue > 1000,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        (scratch_path / "startup").mkdir()
        startup = pytest_startup(scratch_path / "startup")
        data, corpora = report_inputs(scratch_path)
        rendering = render(data, corpora, scratch_path)
        browser = browser_check(rendering.pop("page"), scratch_path)
    load = os.getloadavg()
    record = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1_5_15": [round(x, 2) for x in load],
        },
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "pytest_startup": startup,
        "report_rendering": rendering,
        "browser": browser,
    }
    heavy = startup["heavy_modules_imported"]
    print(f"{'measurement':<44} value")
    print(f"{'-' * 44} {'-' * 24}")
    rows = [
        ("pytest --collect-only, with plugin", f"{startup['with_plugin_s']:.3f} s"),
        ("pytest --collect-only, without plugin", f"{startup['without_plugin_s']:.3f} s"),
        ("plugin start-up overhead (median)", f"{startup['overhead_s'] * 1000:+.0f} ms"),
        ("heavy modules imported by the plugin", ", ".join(heavy) or "none"),
        ("Markdown report, 12 results", f"{rendering['markdown_s'] * 1000:.1f} ms"),
        ("HTML report, 12 results, 36 inline PNGs", f"{rendering['html_s']:.2f} s"),
        ("HTML size", f"{rendering['html_bytes'] / 1e6:.2f} MB"),
        ("external references in the HTML", str(rendering["external_references"])),
    ]  # fmt: skip
    if browser.get("browser"):
        rows += [
            ("headless Chromium load + screenshot", f"{browser['screenshot_s']:.2f} s"),
            ("inline plots drawn (ROC-curve pixels)", f"{browser['roc_curve_pixels']}"),
            ("screenshot", browser["screenshot"]),
        ]
    else:
        rows.append(("headless Chromium", browser["note"]))
    for label, value in rows:
        print(f"{label:<44} {value}")
    print(f"load average (1, 5, 15 min): {record['machine']['load_average_1_5_15']}")
    RESULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"results: {RESULT_PATH.relative_to(REPO)}")


if __name__ == "__main__":
    main()
