"""Set-based writes for the hot paths: many rows in one statement, built by the database.

``bulk_create`` turns every row into a model instance and every value into SQL parameters one
by one, and simple-history's ``bulk_history_create`` does that twice (the instance, then its
history instance). Scoring thousands of declarations a second cannot afford either, so these
two helpers hand PostgreSQL whole columns instead, one array per column:

- ``insert_rows`` inserts ``SELECT * FROM unnest(...)``.
- ``update_rows`` updates the rows the arrays name and, given a ``History``, writes their
  history rows in the same statement from what the update returned: the history holds exactly
  what the table holds, with the acting user (or API key) and the time.

Both take field names, not columns, and read the columns and types from the models, so a new
field needs no change here. They run in the caller's transaction and write nothing else.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Field, Model

# The columns simple-history adds to every history table; everything else mirrors the model.
HISTORY_COLUMNS = frozenset(
    {
        "history_id",
        "history_date",
        "history_change_reason",
        "history_type",
        "history_user_id",
        "history_api_key_id",
    }
)


@dataclass(frozen=True)
class History:
    """Who changed the rows, and when: the history rows ``update_rows`` writes name them.
    ``api_key_id`` is written only where the history table has that column (``ActorHistory``).
    """

    at: Any
    user_id: int | None
    api_key_id: int | None = None


def _field(model: type[Model], name: str) -> "Field[Any, Any]":
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _column(field: Any) -> str:
    """A concrete field's column, quoted."""
    assert field.column is not None
    return str(connection.ops.quote_name(field.column))


def _unnest(
    model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> tuple[list["Field[Any, Any]"], str, list[list[Any]]]:
    """The fields, ``unnest(%s::type[], ...)`` and its arrays (one per field) for these rows."""
    columns: list[list[Any]] = [[] for _ in fields]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    targets = [_field(model, name) for name in fields]
    arrays = ", ".join(
        f"%s::{field.rel_db_type(connection) if field.is_relation else field.db_type(connection)}[]"
        for field in targets
    )
    return targets, f"unnest({arrays})", columns


def insert_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows (tuples in the order of ``fields``) with one statement; returns the count.

    JSON fields take the value already serialised (a ``str``), as the database will store it.
    """
    targets, unnest, columns = _unnest(model, fields, rows)
    if not columns or not columns[0]:
        return 0
    names = ", ".join(_column(field) for field in targets)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) "  # noqa: S608
            f"SELECT * FROM {unnest}",
            columns,
        )
    return len(columns[0])


def update_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    history: History | None = None,
) -> int:
    """Update rows with one statement; returns how many were updated.

    Each row is a tuple in the order of ``fields``, the first of which is the primary key that
    finds the row. A ``None`` leaves that column as it is (so this cannot write NULL). With a
    ``history``, the same statement writes each updated row's history row (``~``).
    """
    targets, unnest, columns = _unnest(model, fields, rows)
    if not columns or not columns[0]:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = [f"v{n}" for n in range(len(targets))]
    sets = ", ".join(
        f"{_column(field)} = COALESCE(v.{name}, t.{_column(field)})"
        for field, name in zip(targets[1:], names[1:], strict=True)
    )
    update = (
        f"UPDATE {table} AS t SET {sets} FROM {unnest} AS v({', '.join(names)}) "  # noqa: S608
        f"WHERE t.{_column(targets[0])} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        if history is None:
            cursor.execute(update, columns)
            return int(cursor.rowcount)
        into, select, values = _history_columns(model, history)
        cursor.execute(
            f"WITH moved AS ({update} RETURNING t.*) "  # noqa: S608
            f"INSERT INTO {quote(model.history.model._meta.db_table)} ({into}) "  # type: ignore[attr-defined]
            f"SELECT {select} FROM moved",
            [*columns, *values],
        )
        return int(cursor.rowcount)


def _history_columns(model: type[Model], history: History) -> tuple[str, str, list[Any]]:
    """The history table's columns, what to select for them from the model's rows, and the
    values of the history's own columns."""
    table: type[Model] = model.history.model  # type: ignore[attr-defined]
    mirrored = [f for f in table._meta.concrete_fields if f.column not in HISTORY_COLUMNS]
    into = [_column(f) for f in mirrored]
    select = [_column(_field(model, f.name)) for f in mirrored]
    values: list[Any] = [history.at, "~", history.user_id]
    into += ["history_date", "history_type", "history_user_id"]
    select += ["%s", "%s", "%s"]
    if any(f.column == "history_api_key_id" for f in table._meta.concrete_fields):
        into.append("history_api_key_id")
        select.append("%s")
        values.append(history.api_key_id)
    return ", ".join(into), ", ".join(select), values
