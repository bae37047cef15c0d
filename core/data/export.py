"""CSV files a person may open in a spreadsheet, written so that no cell runs as a formula (CSV injection).

A spreadsheet treats a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a
formula, so a sample named ``=cmd|' /C calc'!A0`` in a downloaded ranking would run a command when opened.
Such cells are prefixed with a single quote, which spreadsheets read as "this is text". Numbers, and text
that is a plain number such as ``-1.5``, are left as they are: they cannot run and must stay numbers.

The prefix is reversible (:func:`restore_formulas`): a cell that already begins with a quote gets one more, so
the app can read its own files (the own-cohort bundles) back with the names exactly as the user gave them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"
# A decimal number as a spreadsheet reads one: no spaces, underscores, "inf" or "nan" (float() accepts those).
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _is_plain_number(text: str) -> bool:
    return PLAIN_NUMBER.fullmatch(text) is not None


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading quote if it is text a spreadsheet would run; anything else unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(TEXT_MARK) or (value.startswith(FORMULA_STARTS) and not _is_plain_number(value)):
        return TEXT_MARK + value
    return value


def restore_cell(value: Any) -> Any:
    """The inverse of :func:`neutralise_cell`, for text read back from a file this module wrote."""
    return value[1:] if isinstance(value, str) and value.startswith(TEXT_MARK) else value


def _holds_text(dtype: Any) -> bool:
    return pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype | pd.CategoricalDtype)


def _map_labels(index: pd.Index, cell: Callable[[Any], Any]) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        levels = [level.map(cell) if _holds_text(level.dtype) else level for level in index.levels]
        return index.set_levels(levels).set_names([cell(name) for name in index.names])
    labels = index.map(cell) if _holds_text(index.dtype) else index
    return labels.rename(cell(index.name))


def _map_cells(table: pd.DataFrame, cell: Callable[[Any], Any]) -> pd.DataFrame:
    mapped = table.copy()
    for position in range(mapped.shape[1]):
        column = mapped.iloc[:, position]
        if _holds_text(column.dtype):
            mapped.isetitem(position, column.map(cell))
    mapped.index = _map_labels(mapped.index, cell)
    mapped.columns = _map_labels(mapped.columns, cell)
    return mapped


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` in which no text cell, index label or column name can run as a formula."""
    return _map_cells(table, neutralise_cell)


def restore_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A table read from a file written by :func:`to_safe_csv`, with every text cell and column name as it was."""
    return _map_cells(table, restore_cell)


def to_safe_csv(
    table: pd.DataFrame, path_or_buf: str | Path | io.IOBase | None = None, **to_csv_kwargs: Any
) -> str | None:
    """``table.to_csv(path_or_buf, **to_csv_kwargs)`` after :func:`neutralise_formulas`: the writer for every CSV the
    product hands to a person."""
    return neutralise_formulas(table).to_csv(path_or_buf, **to_csv_kwargs)
