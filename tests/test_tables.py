"""The comparison table: numbers from the metrics CSVs and the paper, every output (CSV, Markdown,
the report's HTML page), bad input; the provenance table of surface files."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

import h5py
import numpy as np
import pytest

from landscape.cli import main
from landscape.errors import LandscapeError
from landscape.paper import PAPER_TEST_ERROR, paper_test_error
from landscape.grid import Grid
from landscape.provenance import HEADERS, provenance_table, write_provenance
from landscape.surface_file import Surface, write_surface
from landscape.tables import (
    comparison_table, read_final_metrics, table_html, table_markdown, write_table,
)
from landscape.train import write_metrics

# REFERENCE.md section 6, copied by hand: CIFAR-10 test error (%).
PAPER = {
    "resnet20": 7.37, "resnet20_noshort": 8.18, "resnet56": 5.89, "resnet56_noshort": 13.31,
    "resnet110": 5.79, "resnet110_noshort": 16.44, "wrn56_2": 5.07, "wrn56_4": 4.34,
    "wrn56_8": 3.93, "wrn56_2_noshort": 10.26, "wrn56_4_noshort": 9.69, "wrn56_8_noshort": 8.70,
}


def metrics(path: Path, rows: list[tuple[int, float, float, float]]) -> Path:
    """A metrics.csv as ``landscape train`` writes it: (epoch, train_loss, train_acc, test_acc)."""
    write_metrics(path, [{"epoch": e, "lr": 0.1, "train_loss": loss, "train_acc": tr,
                          "test_loss": 2.0, "test_acc": te, "seconds": 3.5}
                         for e, loss, tr, te in rows])
    return path


@pytest.fixture
def runs(tmp_path) -> dict[str, Path]:
    return {
        "resnet20": metrics(tmp_path / "r20.csv", [(1, 1.9, 30.0, 28.0), (2, 0.01234567, 99.5, 91.234)]),
        "resnet56_noshort": metrics(tmp_path / "r56n.csv", [(1, 2.1, 20.0, 19.0), (2, 1.5, 45.0, 40.0),
                                                            (3, 0.5, 82.25, 80.1)]),
        "my_net": metrics(tmp_path / "mine.csv", [(1, 0.7, 75.0, 70.0)]),
    }


def test_paper_values_are_section_6():
    for model, error in PAPER.items():
        assert paper_test_error(model) == error
    assert PAPER.items() <= PAPER_TEST_ERROR.items()
    assert paper_test_error("resnet56_noshort_lr0.01") == 10.83
    assert paper_test_error("vgg9") == 6.00 and paper_test_error("vgg9_bs8192_wd0") == 11.07
    assert paper_test_error("vgg9_bs128_wd0") == 7.37
    assert paper_test_error("vgg9_bs8192_wd0.0005") == 10.19
    assert paper_test_error("densenet121") is None


def test_final_row_is_the_last_epoch(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds\n"
                    "3,0.01,0.3,90,0.4,88,1\n1,0.1,1.0,60,1.1,58,1\n2,0.1,0.5,80,0.6,79,1\n")
    final = read_final_metrics(path)
    assert (final.epoch, final.train_loss, final.train_err, final.test_err) == (3, 0.3, 10.0, 12.0)


def test_table_numbers_equal_an_independent_computation(runs):
    table = comparison_table(list(runs), list(runs.values()))
    assert list(table["model"]) == list(runs)
    for row in table.to_dict("records"):
        with open(runs[row["model"]], newline="") as fh:
            last = list(csv.DictReader(fh))[-1]
        assert row["epochs"] == int(last["epoch"])
        assert row["train_loss"] == pytest.approx(float(last["train_loss"]), abs=5e-5)
        assert row["train_err"] == pytest.approx(100 - float(last["train_acc"]), abs=5e-3)
        assert row["test_err"] == pytest.approx(100 - float(last["test_acc"]), abs=5e-3)
        paper = PAPER.get(row["model"])
        if paper is None:
            assert row["paper_test_err"] != row["paper_test_err"] and row["diff"] != row["diff"]  # NaN
        else:
            assert row["paper_test_err"] == paper
            assert row["diff"] == pytest.approx(row["test_err"] - paper, abs=1e-9)
    r20 = table.iloc[0]
    assert (r20["train_loss"], r20["train_err"], r20["test_err"], r20["diff"]) == (0.0123, 0.5, 8.77, 1.4)


def test_written_csv_and_markdown_agree(runs, tmp_path):
    out_csv, out_md = tmp_path / "t" / "table.csv", tmp_path / "t" / "table.md"
    table = write_table(list(runs), list(runs.values()), out_csv, out_md)
    with open(out_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["model"] for r in rows] == list(runs)
    assert rows[0] == {"model": "resnet20", "epochs": "2", "train_loss": "0.0123", "train_err": "0.5",
                       "test_err": "8.77", "paper_test_err": "7.37", "diff": "1.4"}
    assert rows[2]["paper_test_err"] == "" and rows[2]["diff"] == ""
    md = out_md.read_text().splitlines()
    assert md[0].startswith("| model | epochs | train loss |") and md[1].startswith("|:---|---:|")
    assert md[2] == "| resnet20 | 2 | 0.0123 | 0.50 | 8.77 | 7.37 | +1.40 |"
    assert md[3] == "| resnet56_noshort | 3 | 0.5000 | 17.75 | 19.90 | 13.31 | +6.59 |"
    assert md[4] == "| my_net | 1 | 0.7000 | 25.00 | 30.00 |  |  |"
    assert out_md.read_text() == table_markdown(table)


class TableReader(HTMLParser):
    """The header and body cells of every table of an HTML page, as text."""

    def __init__(self):
        super().__init__()
        self.head, self.rows, self.cell, self.tables = [], [], None, 0
        self.in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables += 1
        elif tag == "thead":
            self.in_head = True
        elif tag == "tr" and not self.in_head:
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "thead":
            self.in_head = False
        elif tag in ("td", "th"):
            (self.head if self.in_head else self.rows[-1]).append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def read_html_table(text: str) -> TableReader:
    reader = TableReader()
    reader.feed(text)
    return reader


def test_html_table_shows_the_markdown_numbers(runs, tmp_path):
    out = {ext: tmp_path / f"t.{ext}" for ext in ("csv", "md", "html")}
    table = write_table(list(runs), list(runs.values()), out["csv"], out["md"], out["html"])
    page = out["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and page == table_html(table)
    reader = read_html_table(page)
    markdown = [[c.strip() for c in line.strip("|").split("|")]
                for line in out["md"].read_text().splitlines()]
    assert reader.tables == 1
    assert reader.head == markdown[0]
    assert reader.rows == markdown[2:]  # the same cells, blank where the paper has none
    escaped = table_html(comparison_table(["<b>"], [runs["my_net"]]))
    assert "<td><b></td>" not in escaped and "&lt;b&gt;" in escaped


def test_cli_table(runs, tmp_path, capsys):
    out_csv, out_md = tmp_path / "t.csv", tmp_path / "t.md"
    argv = ["table", "--metrics", *map(str, runs.values()), "--models", *runs,
            "--out-csv", str(out_csv), "--out-md", str(out_md)]
    assert main(argv) == 0
    first = (out_csv.read_bytes(), out_md.read_bytes())
    assert main(argv) == 0
    assert (out_csv.read_bytes(), out_md.read_bytes()) == first
    assert "3 models" in capsys.readouterr().out


def test_bad_inputs_fail_cleanly(runs, tmp_path, capsys):
    header = "epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds\n"
    bad = {
        "empty.csv": "",
        "header_only.csv": header,
        "no_test_acc.csv": "epoch,train_loss,train_acc\n1,0.5,80\n",
        "text.csv": header + "1,0.1,0.5,eighty,0.6,79,1\n",
    }
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
    cases = [
        ([tmp_path / "missing.csv"], ["resnet20"], "missing.csv does not exist"),
        ([tmp_path / "empty.csv"], ["resnet20"], "empty.csv is not a readable CSV"),
        ([tmp_path / "header_only.csv"], ["resnet20"], "header_only.csv has no rows"),
        ([tmp_path / "no_test_acc.csv"], ["resnet20"], "lacks column(s) test_acc"),
        ([tmp_path / "text.csv"], ["resnet20"], "'train_acc' line 2 is not a number"),
        ([runs["resnet20"]], ["resnet20", "resnet56"], "2 model name(s) but 1 metrics"),
    ]
    out = tmp_path / "out"
    for paths, models, needle in cases:
        with pytest.raises(LandscapeError) as info:
            comparison_table(models, paths)
        assert needle in str(info.value)
        code = main(["table", "--metrics", *map(str, paths), "--models", *models,
                     "--out-csv", str(out / "t.csv"), "--out-md", str(out / "t.md")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and "\n" not in err and err.startswith("landscape table: error:")
        assert needle in err
    assert not out.exists()
    with pytest.raises(LandscapeError, match="same file"):
        write_table(["resnet20"], [runs["resnet20"]], tmp_path / "x", tmp_path / "x")
    with pytest.raises(LandscapeError, match="same file"):
        write_table(["resnet20"], [runs["resnet20"]], tmp_path / "x", tmp_path / "y", tmp_path / "x")


# --- provenance ---------------------------------------------------------------------------

SWEEP_ATTRS = {  # what `landscape surface` records (landscape.surface), merged over 2 shards
    "arch": "resnet56", "dataset": "cifar10", "splits": ["train", "test"],
    "split_sizes": [5000, 2000], "subset_rule": "random", "subset_size": 5000,
    "subset_seed": 3, "precision": "auto", "engine_precision": "tf32", "device": "cuda",
    "engine_device": "cuda:0", "seconds": 1234.56, "shards": 2, "nonfinite": 1,
    "landscape_version": "test",
}


def surface(path: Path, grid: Grid, attrs: dict) -> Path:
    s = Surface.empty(grid, ["train"], attrs=attrs, dir_file="d.h5")
    s.values["train_loss"][...] = 1.0
    s.values["train_acc"][...] = 50.0
    s.computed[...] = True
    return write_surface(path, s, keep_mask=False)


def test_provenance_rows_say_how_each_surface_was_computed(tmp_path):
    ours = surface(tmp_path / "r56.h5", Grid.parse("-1:1:51", "-0.5:1:31"), SWEEP_ATTRS)
    curve = surface(tmp_path / "r56_1d.h5", Grid.parse("-1:1:21"),
                    {**SWEEP_ATTRS, "subset_rule": "all", "shards": None, "subset_seed": None,
                     "engine_precision": "fp32", "precision": "fp32", "nonfinite": 0,
                     "seconds": 2.04})
    reference = tmp_path / "ref.h5"  # the reference implementation records none of it
    with h5py.File(reference, "w") as f:
        f["xcoordinates"] = np.linspace(-1, 1, 5)
        f["ycoordinates"] = np.linspace(-1, 1, 5)
        f["train_loss"] = np.ones((5, 5))
    table = provenance_table([ours, curve, reference], ["resnet56", "resnet56", "theirs"])
    rows = table.to_dict("records")
    assert list(table.columns) == list(HEADERS)
    assert rows[0] == {"model": "resnet56", "file": "r56.h5", "grid": "51 x 31 on [-1, 1] x [-0.5, 1]",
                       "dataset": "cifar10", "images": "train 5,000, test 2,000",
                       "subset": "random 5,000 (seed 3)", "precision": "tf32 (auto)",
                       "device": "cuda:0", "seconds": "1234.6", "shards": "2", "nonfinite": "1"}
    assert rows[1]["grid"] == "21 points on [-1, 1]" and rows[1]["subset"] == "all"
    assert (rows[1]["precision"], rows[1]["shards"], rows[1]["seconds"]) == ("fp32", "1", "2.0")
    assert rows[2] == {**dict.fromkeys(HEADERS, ""), "model": "theirs", "file": "ref.h5",
                       "grid": "5 x 5 on [-1, 1] x [-1, 1]"}
    named = provenance_table([ours])  # without names: the model each file records
    assert named["model"].tolist() == ["resnet56"]


def test_provenance_cli_writes_csv_and_html_and_refuses_bad_input(tmp_path, capsys, cli_error):
    ours = surface(tmp_path / "r56.h5", Grid.parse("-1:1:5", "-1:1:5"), SWEEP_ATTRS)
    out_csv, out_html = tmp_path / "p" / "prov.csv", tmp_path / "p" / "prov.html"
    assert main(["provenance", "--surfaces", str(ours), str(ours), "--out-csv", str(out_csv),
                 "--out-html", str(out_html)]) == 0
    assert "2 surfaces" in capsys.readouterr().out
    with open(out_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    reader = read_html_table(out_html.read_text())
    assert reader.head == list(HEADERS.values())
    assert reader.rows == [list(r.values()) for r in rows] and len(rows) == 2
    assert rows[0]["grid"] == "5 x 5 on [-1, 1] x [-1, 1]"
    cases = [(["--surfaces", str(tmp_path / "none.h5"), "--out-csv", str(tmp_path / "q.csv")],
              "none.h5"),
             (["--surfaces", str(ours), "--models", "a", "b", "--out-csv", str(tmp_path / "q.csv")],
              "2 model name(s) but 1 surface"),
             (["--surfaces", str(ours)], "no output given"),
             (["--surfaces", str(ours), "--out-csv", str(tmp_path / "q"), "--out-html",
               str(tmp_path / "q")], "same file")]
    for argv, needle in cases:
        assert needle in cli_error("provenance", *argv)
    assert not (tmp_path / "q.csv").exists() and not (tmp_path / "q").exists()
    with pytest.raises(LandscapeError, match="no output"):
        write_provenance([ours])
