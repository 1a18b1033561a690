"""This run's final errors beside the paper's, as CSV, Markdown and HTML.

Input: the per-epoch ``metrics.csv`` that ``landscape train`` writes (columns epoch, lr,
train_loss, train_acc, test_loss, test_acc, seconds; accuracies in percent). Each model's row
is taken from its last epoch. A model the paper does not report (``landscape.paper``) gets a
blank paper value and a blank difference; it is not an error.
"""

from __future__ import annotations

import html
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


def read_metrics(path: str | Path, columns: Sequence[str] = REQUIRED_COLUMNS) -> pd.DataFrame:
    """Every epoch's row of ``path``, by epoch, checked for ``columns`` (numbers, epochs set)."""
    path = Path(path)
    if not path.is_file():
        raise LandscapeError(f"metrics file {path} does not exist")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LandscapeError(f"metrics file {path} is not a readable CSV: {first}") from exc
    columns = list(dict.fromkeys(("epoch", *columns)))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LandscapeError(f"metrics file {path} lacks column(s) {', '.join(missing)}")
    if frame.empty:
        raise LandscapeError(f"metrics file {path} has no rows")
    for column in columns:
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
    return frame.sort_values("epoch", kind="stable").reset_index(drop=True)


def read_final_metrics(path: str | Path) -> FinalMetrics:
    """The row of the highest epoch in ``path``, checked for the columns the table needs."""
    last = read_metrics(path).iloc[-1]
    return FinalMetrics(path=Path(path), epoch=int(last["epoch"]),
                        train_loss=float(last["train_loss"]), train_acc=float(last["train_acc"]),
                        test_acc=float(last["test_acc"]))


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


def _cell(column: str, value: object) -> str:
    """A table entry as printed: fixed decimals, blank where the paper has no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "" if column in ("paper_test_err", "diff") else "nan"  # nan: a diverged run
    if column in DIGITS:
        return f"{value:+.{DIGITS[column]}f}" if column == "diff" else f"{value:.{DIGITS[column]}f}"
    return str(value)


def table_markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table; blank cells where the paper has no value."""
    header = "| " + " | ".join(MARKDOWN_HEADERS[c] for c in COLUMNS) + " |"
    align = "|" + "|".join(":---" if c == "model" else "---:" for c in COLUMNS) + "|"
    body = ["| " + " | ".join(_cell(c, row[c]) for c in COLUMNS) + " |"
            for row in table.to_dict("records")]
    return "\n".join([header, align, *body]) + "\n"


HTML_STYLE = (
    "body{font-family:sans-serif;font-size:14px;margin:1em}"
    "table{border-collapse:collapse}"
    "th,td{padding:4px 10px;border-bottom:1px solid #ccc;white-space:nowrap}"
    "th{text-align:left;border-bottom:2px solid #333}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "caption{caption-side:bottom;text-align:left;padding-top:8px;color:#555}"
)


def html_page(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
              numeric: Sequence[bool], note: str = "") -> str:
    """A standalone HTML page holding one table (what the HTML report shows inline).

    Entries are escaped; ``numeric`` columns are right-aligned; ``note`` goes under the table.
    """
    def cells(tag: str, values: Sequence[str]) -> str:
        opening = [f'<{tag} class="num">' if num and tag == "td" else f"<{tag}>" for num in numeric]
        return "".join(f"{o}{html.escape(v)}</{tag}>" for o, v in zip(opening, values))

    body = "\n".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    caption = f"<caption>{html.escape(note)}</caption>\n" if note else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>{HTML_STYLE}</style>\n</head>\n"
            f"<body>\n<table>\n{caption}<thead><tr>{cells('th', headers)}</tr></thead>\n"
            f"<tbody>\n{body}\n</tbody>\n</table>\n</body>\n</html>\n")


TABLE_TITLE = "Test error: this run beside the paper (CIFAR-10)"
TABLE_NOTE = ("Final epoch of each model. The paper's test errors are those of Li et al. (2018); "
              "a blank cell: the paper reports no such model. Runs on a subset, with fewer "
              "epochs or on synthetic data are not expected to match them.")


def table_html(table: pd.DataFrame) -> str:
    """The comparison table as a standalone HTML page, the numbers as in Markdown."""
    rows = [[_cell(c, row[c]) for c in COLUMNS] for row in table.to_dict("records")]
    return html_page(TABLE_TITLE, [MARKDOWN_HEADERS[c] for c in COLUMNS], rows,
                     [c != "model" for c in COLUMNS], TABLE_NOTE)


def write_table(models: Sequence[str], metrics_paths: Sequence[str | Path],
                out_csv: str | Path, out_md: str | Path,
                out_html: str | Path | None = None) -> pd.DataFrame:
    """Build the table and write the files (CSV, Markdown, HTML if asked), all or nothing."""
    outputs = [Path(out_csv), Path(out_md)] + ([Path(out_html)] if out_html is not None else [])
    resolved = [p.resolve() for p in outputs]
    if len(set(resolved)) < len(resolved):
        raise LandscapeError(f"two outputs are the same file: {', '.join(map(str, outputs))}")
    table = comparison_table(models, metrics_paths)
    texts = dict(zip(outputs, [table.to_csv(index=False, na_rep="", lineterminator="\n"),
                               table_markdown(table), table_html(table)]))
    with atomic_outputs(*texts) as temps:
        for temp, text in zip(temps, texts.values()):
            temp.write_text(text, encoding="utf-8")
    return table
