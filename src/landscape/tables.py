"""This run's final errors beside the paper's, as CSV and Markdown.

Input: the per-epoch ``metrics.csv`` that ``landscape train`` writes (columns epoch, lr,
train_loss, train_acc, test_loss, test_acc, seconds; accuracies in percent). Each model's row
is taken from its last epoch. A model the paper does not report (``landscape.paper``) gets a
blank paper value and a blank difference; it is not an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from landscape.atomic import atomic_outputs
from landscape.errors import LandscapeError
from landscape.paper import paper_test_error

REQUIRED_COLUMNS = ("epoch", "train_loss", "train_acc", "test_acc")
COLUMNS = ["model", "epochs", "train_loss", "train_err", "test_err", "paper_test_err", "diff"]
MARKDOWN_HEADERS = {
    "model": "model",
    "epochs": "epochs",
    "train_loss": "train loss",
    "train_err": "train error (%)",
    "test_err": "test error (%)",
    "paper_test_err": "paper test error (%)",
    "diff": "difference (points)",
}
DIGITS = {"train_loss": 4, "train_err": 2, "test_err": 2, "paper_test_err": 2, "diff": 2}


@dataclass(frozen=True)
class FinalMetrics:
    """The last epoch's row of a training metrics CSV."""

    path: Path
    epoch: int
    train_loss: float
    train_acc: float
    test_acc: float

    @property
    def train_err(self) -> float:
        return 100.0 - self.train_acc

    @property
    def test_err(self) -> float:
        return 100.0 - self.test_acc


def read_final_metrics(path: str | Path) -> FinalMetrics:
    """The row of the highest epoch in ``path``, checked for the columns the table needs."""
    path = Path(path)
    if not path.is_file():
        raise LandscapeError(f"metrics file {path} does not exist")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LandscapeError(f"metrics file {path} is not a readable CSV: {first}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise LandscapeError(f"metrics file {path} lacks column(s) {', '.join(missing)}")
    if frame.empty:
        raise LandscapeError(f"metrics file {path} has no rows")
    for column in REQUIRED_COLUMNS:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() & frame[column].notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0]) + 2  # 1-based, after the header
            raise LandscapeError(
                f"metrics file {path}: column {column!r} line {row} is not a number: "
                f"{frame[column][bad].iloc[0]!r}"
            )
        frame[column] = numbers
    if frame["epoch"].isna().any():
        raise LandscapeError(f"metrics file {path}: column 'epoch' has an empty entry")
    last = frame.loc[frame["epoch"].to_numpy().argmax()]
    return FinalMetrics(path=path, epoch=int(last["epoch"]), train_loss=float(last["train_loss"]),
                        train_acc=float(last["train_acc"]), test_acc=float(last["test_acc"]))


def check_labels(models: Sequence[str], paths: Sequence[str | Path], what: str) -> None:
    """One model name per file, at least one of each."""
    if not models:
        raise LandscapeError("no models given")
    if len(models) != len(paths):
        raise LandscapeError(
            f"{len(models)} model name(s) but {len(paths)} {what} file(s); give one name per file"
        )


def _round(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return value
    return round(value, digits)


def comparison_table(models: Sequence[str], metrics_paths: Sequence[str | Path]) -> pd.DataFrame:
    """One row per model: final train loss, train and test error, the paper's, difference.

    Numbers are rounded (loss to 4 decimals, percentages to 2) and the difference is computed
    from the rounded test error, so the table's columns agree with each other as printed.
    """
    check_labels(models, metrics_paths, "metrics")
    finals = [read_final_metrics(p) for p in metrics_paths]
    rows = []
    for model, final in zip(models, finals):
        paper = paper_test_error(model)
        test_err = _round(final.test_err, DIGITS["test_err"])
        diff = None if paper is None else _round(test_err - paper, DIGITS["diff"])
        rows.append({
            "model": model,
            "epochs": final.epoch,
            "train_loss": _round(final.train_loss, DIGITS["train_loss"]),
            "train_err": _round(final.train_err, DIGITS["train_err"]),
            "test_err": test_err,
            "paper_test_err": paper,
            "diff": diff,
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def table_markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table; blank cells where the paper has no value."""
    def cell(column: str, value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "" if column in ("paper_test_err", "diff") else "nan"  # nan: a diverged run
        if column in DIGITS:
            return f"{value:+.{DIGITS[column]}f}" if column == "diff" else f"{value:.{DIGITS[column]}f}"
        return str(value)

    header = "| " + " | ".join(MARKDOWN_HEADERS[c] for c in COLUMNS) + " |"
    align = "|" + "|".join(":---" if c == "model" else "---:" for c in COLUMNS) + "|"
    body = ["| " + " | ".join(cell(c, row[c]) for c in COLUMNS) + " |"
            for row in table.to_dict("records")]
    return "\n".join([header, align, *body]) + "\n"


def write_table(models: Sequence[str], metrics_paths: Sequence[str | Path],
                out_csv: str | Path, out_md: str | Path) -> pd.DataFrame:
    """Build the table and write both files, all or nothing; returns the table."""
    out_csv, out_md = Path(out_csv), Path(out_md)
    if out_csv.resolve() == out_md.resolve():
        raise LandscapeError(f"the CSV and Markdown outputs are the same file {out_csv}")
    table = comparison_table(models, metrics_paths)
    texts = {out_csv: table.to_csv(index=False, na_rep="", lineterminator="\n"),
             out_md: table_markdown(table)}
    with atomic_outputs(*texts) as temps:
        for temp, text in zip(temps, texts.values()):
            temp.write_text(text, encoding="utf-8")
    return table
