"""``landscape bench`` runs both approaches on a tiny size and reports them (no timing asserts)."""

from __future__ import annotations

import json

import pytest

from landscape.bench import grid_points
from landscape.cli import main

KEYS = {"device", "model", "images", "points", "reference_s_per_point", "ours_s_per_point",
        "speedup", "precision", "rel_error", "train_images_per_s", "ours_peak_mem_mb",
        "reference_peak_mem_mb"}


def test_grid_points_spread_over_the_paper_grid():
    assert grid_points(1) == [(-1.0, -1.0)]
    assert grid_points(3) == [(-1.0, -1.0), (0.0, 0.0), (1.0, 1.0)]
    every = grid_points(51 * 51)
    assert len(set(every)) == 51 * 51 and every[1] == pytest.approx((-0.96, -1.0))


def test_bench_runs_both_approaches_and_writes_json(tmp_path, data_dir, capsys):
    out = tmp_path / "sub" / "bench.json"
    code = main(["bench", "--model", "resnet20", "--images", "24", "--points", "2",
                 "--train-steps", "1", "--device", "cpu", "--data", "synthetic",
                 "--data-dir", str(data_dir), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "reference" in printed and "speedup" in printed and "images/s" in printed
    result = json.loads(out.read_text())
    assert KEYS <= set(result)
    assert (result["model"], result["images"], result["points"]) == ("resnet20", 24, 2)
    assert result["precision"] == "fp32" and result["folded_batchnorms"] == 21
    for key in ("reference_s_per_point", "ours_s_per_point", "speedup", "train_images_per_s"):
        assert result[key] > 0, key
    assert result["rel_error"] < 1e-3 and result["reference_rel_error"] < 1e-3
    # The two approaches compute the same function: same loss and accuracy at each point.
    for ours, ref in zip(result["ours_values"], result["reference_values"]):
        assert ours[0] == pytest.approx(ref[0], rel=1e-5) and ours[1] == ref[1]
    assert list(tmp_path.glob("sub/*.tmp*")) == []


@pytest.mark.parametrize("extra, message", [
    (["--data", "synthetic", "--images", "20000"], "exceeds the synthetic set"),
    (["--checkpoint", "missing.pt"], "missing.pt does not exist"),
])
def test_bad_input_stops_before_work(tmp_path, data_dir, capsys, extra, message):
    out = tmp_path / "bench.json"
    code = main(["bench", "--model", "resnet20", "--device", "cpu", "--data-dir", str(data_dir),
                 "--out", str(out), *extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
