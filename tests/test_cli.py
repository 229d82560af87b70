"""The suptest command line: real commands on the digits data set and small corpora."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from supervisor_testing.cli import main
from supervisor_testing.corpus import Corpus, GeneratorInfo, SourceInfo, write_corpus


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, ["--quiet", *map(str, args)])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def assert_usage_error(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


@pytest.fixture
def noise_corpus(tmp_path) -> Corpus:
    """Far-OOD uniform noise shaped like the digits data set (1 x 8 x 8, 10 classes)."""
    n = 200
    images = torch.randint(0, 256, (n, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    return write_corpus(
        tmp_path / "noise",
        {
            "images": images.to(torch.uint8),
            "labels": torch.full((n,), -1, dtype=torch.int64),
            "label_probs": torch.zeros(n, 10),
            "source_index": torch.arange(n),
        },
        name="digits-noise",
        kind="far-ood",
        class_names=tuple(str(d) for d in range(10)),
        generator=GeneratorInfo(name="uniform-noise", version="1", params={}, seed=0),
        source=SourceInfo(dataset="none", split="test", sha256="0" * 64),
    )


def test_help_lists_the_commands():
    result = run("--help")
    for command in ("list", "data", "model", "corpus", "evaluate", "demo"):
        assert command in result.output


def test_list_supervisors_shows_aliases():
    result = run("list", "supervisors")
    assert "max-softmax" in result.output and "msp" in result.output
    assert "energy" in result.output


def test_list_everything():
    result = run("list")
    for section in ("datasets:", "models:", "supervisors:", "generators:", "corpora:"):
        assert section in result.output
    assert "digits" in result.output and "mnist-test" in result.output


def test_corpus_from_dataset_show_verify_export(tmp_path):
    out = tmp_path / "digits-test"
    result = run("corpus", "from-dataset", "digits", "--split", "test", "--out", out)
    assert "samples" in result.output
    run("corpus", "verify", out)
    grid = tmp_path / "grid.png"
    result = run("corpus", "show", out, "--out", grid, "--count", "16")
    assert grid.read_bytes().startswith(b"\x89PNG")
    assert "kind:       nominal" in result.output
    run("corpus", "export", out, "--format", "npz", "--out", tmp_path / "d.npz")
    assert (tmp_path / "d.npz").stat().st_size > 0


def test_tampered_corpus_fails_verify_with_exit_2(tmp_path, noise_corpus):
    shard = next(noise_corpus.path.glob("*.safetensors"))
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert_usage_error(run("corpus", "verify", noise_corpus.path, ok=False), "error:")


def test_unknown_supervisor_exits_2_before_any_work(noise_corpus):
    result = run(
        "evaluate", "--model", "cnn", "--train-data", "digits", "-s", "no-such-monitor",
        "--stress", noise_corpus.path, "--nominal", "digits-test", ok=False,
    )  # fmt: skip
    assert_usage_error(result, "unknown supervisor 'no-such-monitor'")


def test_missing_corpus_exits_2(tmp_path):
    result = run("corpus", "show", tmp_path / "nowhere", ok=False)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_evaluate_writes_table_and_json(tmp_path, noise_corpus):
    json_path = tmp_path / "out" / "results.json"
    result = run(
        "evaluate", "--model", "mlp", "--train-data", "digits", "-s", "msp", "-s", "energy",
        "--stress", noise_corpus.path, "--nominal", "digits-test",
        "--calibration", "digits-calibration", "--json", json_path,
    )  # fmt: skip
    assert "TPR@5%FPR(nominal)" in result.output
    payload = json.loads(json_path.read_text())
    assert [r["supervisor"] for r in payload["results"]] == ["max-softmax", "energy"]
    for row in payload["results"]:
        assert row["stress"] == "digits-noise"
        assert 0.0 <= row["auroc"]["low"] <= row["auroc"]["value"] <= row["auroc"]["high"] <= 1
    assert payload["plan"]["calibration"] == "digits-calibration"
