"""Reports: the results file, Markdown, self-contained HTML (checked in a real browser where
one is installed), missed-input grids, `suptest report`, and the label-space check."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from supervision_project import write_corpora
from torch import nn

from supervisor_testing.cli import main
from supervisor_testing.corpus import Corpus
from supervisor_testing.errors import InvalidInputError
from supervisor_testing.evaluate import DetectionResult, evaluate_scores
from supervisor_testing.label_space import check_label_space
from supervisor_testing.report import (
    ReportData,
    histogram_png,
    html_report,
    load_results,
    markdown_report,
    missed_inputs,
    roc_png,
    save_results,
)

ROC_BLUE = (0x1F, 0x77, 0xB4)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Corpus]:
    return write_corpora(tmp_path_factory.mktemp("report-corpora"))


def brightness(corpus: Corpus) -> np.ndarray:
    return corpus.load(["images"])["images"].float().mean(dim=(1, 2, 3)).numpy()


@pytest.fixture(scope="module")
def results(corpora: dict[str, Corpus]) -> list[DetectionResult]:
    """A strong and a weak supervisor on the bright corpus, scores kept."""
    stress, nominal = brightness(corpora["bright"]), brightness(corpora["dark-test"])
    rng = np.random.default_rng(0)
    common = {"stress": "bright", "nominal": "dark-test", "resamples": 100}
    return [
        evaluate_scores(stress, nominal, supervisor="brightness", **common),
        evaluate_scores(
            stress + rng.normal(0, 60, len(stress)),
            nominal + rng.normal(0, 60, len(nominal)),
            supervisor="noisy|brightness",
            **common,
        ),
    ]


@pytest.fixture(scope="module")
def report_data(results, corpora) -> ReportData:
    verdicts = (
        {"requirement": "min_auroc", "supervisor": "brightness", "stress": "bright",
         "observed": "1.0000 (lower bound)", "required": ">= 0.9", "passed": True},
        {"requirement": "min_auroc", "supervisor": "noisy|brightness", "stress": "bright",
         "observed": "0.7000 (lower bound)", "required": ">= 0.9", "passed": False},
    )  # fmt: skip
    return ReportData(
        results=tuple(results),
        baselines=("AUROC +0.000, TPR +0.000", "no baseline"),
        verdicts=verdicts,
        corpus_paths={"bright": str(corpora["bright"].path)},
        title="Toy report",
    )


def test_results_file_round_trip_keeps_scores(tmp_path: Path, report_data: ReportData) -> None:
    path = save_results(tmp_path / "results.json", report_data)
    loaded = load_results(path)
    assert loaded.results == report_data.results
    for before, after in zip(report_data.results, loaded.results, strict=True):
        np.testing.assert_array_equal(before.stress_scores, after.stress_scores)
        np.testing.assert_array_equal(before.nominal_scores, after.nominal_scores)
    assert loaded.verdicts == report_data.verdicts and loaded.baselines == report_data.baselines
    # A threshold of +inf (every calibration score tied at the top) survives as strict JSON.
    infinite = replace(
        report_data, results=(replace(report_data.results[0], threshold=math.inf),), baselines=()
    )
    path = save_results(tmp_path / "inf.json", infinite, include_scores=False)
    json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"non-JSON {name}"))
    [result] = load_results(path).results
    assert result.threshold == math.inf and result.stress_scores is None


def test_results_file_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "results": [\n    {"auroc": }\n  ]\n}\n')
    with pytest.raises(InvalidInputError, match=rf"^{bad}:3: not valid JSON"):
        load_results(bad)
    bad.write_text('{"results": [{"auroc": 1}]}')
    with pytest.raises(InvalidInputError, match=r"results\[0\] is not a detection result"):
        load_results(bad)
    bad.write_text("[]")
    with pytest.raises(InvalidInputError, match="holds no 'results' list"):
        load_results(bad)


def test_markdown_report_fits_a_job_summary(report_data: ReportData) -> None:
    text = markdown_report(report_data)
    assert text.startswith("# Toy report\n\n**FAIL**: 1 of 2 gate requirements do not hold.")
    assert "| min_auroc   | noisy\\|brightness | bright        | 0.7000 (lower bound)" in text
    row = next(line for line in text.splitlines() if line.startswith("| brightness "))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    first = report_data.results[0]
    assert cells[2] == f"{first.auroc:.3f}" and cells[-1] == "AUROC +0.000, TPR +0.000"
    assert "| vs baseline" in text


def _images(document: str) -> list[Image.Image]:
    sources = re.findall(r'<img [^>]*src="([^"]+)"', document)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    return [Image.open(io.BytesIO(base64.b64decode(s.split(",", 1)[1]))) for s in sources]


def test_html_report_is_self_contained(report_data: ReportData, corpora) -> None:
    document = html_report(report_data, corpora={"bright": corpora["bright"]}, missed_count=8)
    # Nothing is fetched from elsewhere: no URLs, no scripts, no external style sheets.
    assert not re.search(r"""(src|href)=["'](?!data:)""", document)
    assert "<script" not in document and "http" not in document.replace("http-equiv", "")
    images = _images(document)
    # Two results x (ROC + histogram) + one grid of missed inputs (the strong one misses none).
    assert len(images) == 5
    assert all(image.format == "PNG" and image.width > 100 for image in images)
    assert "No stress input scored at or below the threshold." in document
    assert "noisy|brightness on bright" in document  # escaped text, not markup
    assert html_report(report_data, corpora={}).count("is not available here") == 2


def test_plots_are_byte_identical_across_calls(results) -> None:
    assert roc_png(results[1]) == roc_png(results[1])
    assert histogram_png(results[1]) == histogram_png(results[1])
    with pytest.raises(InvalidInputError, match="carries no scores"):
        roc_png(replace(results[0], stress_scores=None))


def test_missed_inputs_are_the_lowest_scores_under_the_threshold(results, corpora) -> None:
    weak = results[1]
    missed = missed_inputs(weak, corpora["bright"], count=5)
    below = np.flatnonzero(weak.stress_scores <= weak.threshold)
    expected = below[np.argsort(weak.stress_scores[below], kind="stable")][:5]
    np.testing.assert_array_equal(missed.indices, expected)
    assert missed.total == len(below)
    images = corpora["bright"].load(["images"])["images"]
    assert torch.equal(missed.images, images[torch.from_numpy(expected)])
    with pytest.raises(InvalidInputError, match="not the corpus the result was computed on"):
        missed_inputs(weak, corpora["dark-test"])


def test_report_command(tmp_path: Path, report_data: ReportData) -> None:
    path = save_results(tmp_path / "results.json", report_data)
    runner = CliRunner()
    result = runner.invoke(main, ["report", str(path), "--html", str(tmp_path / "r.html"),
                                  "--markdown", str(tmp_path / "r.md")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.md").read_text() == markdown_report(report_data)
    assert len(_images((tmp_path / "r.html").read_text())) == 5
    result = runner.invoke(main, ["report", str(path), "--title", "Other"])
    assert result.exit_code == 0 and result.output.startswith("# Other\n")
    result = runner.invoke(main, ["report", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_report_from_evaluate_json_without_scores(tmp_path: Path, results) -> None:
    payload = {"plan": {"stress": []}, "results": [r.to_dict() for r in results]}
    (tmp_path / "evaluate.json").write_text(json.dumps(payload))
    data = load_results(tmp_path / "evaluate.json")
    assert data.meta["plan"] == {"stress": []}
    document = html_report(data)
    assert document.count("holds no per-input scores") == 2


def test_html_report_renders_in_a_headless_browser(tmp_path: Path, report_data, corpora) -> None:
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if browser is None:
        pytest.skip("no chromium installed (Debian: apt-get install chromium)")
    page = tmp_path / "report.html"
    page.write_text(html_report(report_data, corpora={"bright": corpora["bright"]}))
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--hide-scrollbars",
             "--window-size=1200,1800", f"--screenshot={shot}", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (1800, 1200)
    # The inline ROC plot was decoded and drawn: its curve colour is on screen.
    assert np.all(np.abs(pixels.astype(int) - ROC_BLUE) <= 8, axis=-1).sum() > 200


def test_label_space_mismatches_are_refused(corpora) -> None:
    torch.manual_seed(0)
    two = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    check_label_space(two, [corpora["dark-test"], corpora["bright"]], class_names=("c0", "c1"))
    with pytest.raises(InvalidInputError, match=r"has 3 classes .* but corpus 'dark-test' has 2"):
        check_label_space(two, [corpora["dark-test"], corpora["three-classes"]])
    with pytest.raises(InvalidInputError, match="outputs 3 logits but corpus 'dark-test' has 2"):
        check_label_space(nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), [corpora["dark-test"]])
    with pytest.raises(InvalidInputError, match="trained on 2 classes \\(cat, dog\\)"):
        check_label_space(two, [corpora["dark-test"]], class_names=("cat", "dog"))
    with pytest.raises(InvalidInputError, match="cannot read the \\(1, 4, 4\\) images"):
        check_label_space(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), [corpora["dark-test"]])


def test_evaluate_then_report_draws_plots_and_missed_inputs(tmp_path: Path) -> None:
    """The command-line path: `suptest evaluate --json --scores`, then `suptest report`."""
    n = 120
    images = torch.randint(0, 256, (n, 1, 8, 8), generator=torch.Generator().manual_seed(1))
    from supervisor_testing.corpus import GeneratorInfo, SourceInfo, write_corpus

    noise = write_corpus(
        tmp_path / "noise",
        {"images": images.to(torch.uint8), "labels": torch.full((n,), -1),
         "label_probs": torch.zeros(n, 10), "source_index": torch.arange(n)},
        name="digits-noise", kind="far-ood", class_names=tuple(str(d) for d in range(10)),
        generator=GeneratorInfo("uniform-noise", "1", {}, 0),
        source=SourceInfo("none", "test", "0" * 64),
    )  # fmt: skip
    runner = CliRunner()
    results = tmp_path / "results.json"
    result = runner.invoke(main, ["--quiet", "evaluate", "--model", "mlp", "--train-data",
                                  "digits", "-s", "msp", "--stress", str(noise.path),
                                  "--nominal", "digits-test", "--json", str(results),
                                  "--scores"])  # fmt: skip
    assert result.exit_code == 0, result.output
    [row] = json.loads(results.read_text())["results"]
    assert len(row["stress_scores"]) == n
    result = runner.invoke(main, ["report", str(results), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    document = (tmp_path / "r.html").read_text()
    # ROC, histogram and the grid of missed inputs: the plan's stress corpus was found.
    scores = np.asarray(row["stress_scores"])
    missed = int(np.sum(scores <= row["threshold"]))
    assert 0 < missed < n
    assert len(_images(document)) == 3
    assert f"{min(24, missed)} of the {missed} stress inputs at or below the threshold" in document
