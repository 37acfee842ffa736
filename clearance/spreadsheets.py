"""CSV files the portal hands out are opened in spreadsheets, which run a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula (CSV injection). Every
cell whose text someone else typed goes through ``csv_cell``: such a cell gets a leading
apostrophe, so the spreadsheet shows the text instead of running it."""

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
