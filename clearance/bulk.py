"""Set-based writes for the hot paths: many rows in one statement, built by the database.

``bulk_create`` turns every row into a model instance and every value into SQL parameters one
by one, and simple-history's ``bulk_history_create`` does that twice (the instance, then its
history instance). Scoring thousands of declarations a second cannot afford either, so these
two helpers hand PostgreSQL whole columns instead:

- ``insert_rows`` sends one array per column and inserts ``SELECT * FROM unnest(...)``.
- ``record_history`` writes the history rows of rows just changed with ``INSERT … SELECT``
  from the tracked table itself, so the history holds exactly what the table holds, with the
  acting user (or API key) and the time, in the caller's transaction.

The writers take field names, not columns, and read the columns and types from the models, so a new
field needs no change here. They run in the caller's transaction and write nothing else.
"""

from collections.abc import Iterable, Sequence
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


def _field(model: type[Model], name: str) -> "Field[Any, Any]":
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def _column(field: Any) -> str:
    """A concrete field's column, quoted."""
    assert field.column is not None
    return str(connection.ops.quote_name(field.column))


def insert_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows (tuples in the order of ``fields``) with one statement; returns the count.

    JSON fields take the value already serialised (a ``str``), as the database will store it.
    """
    columns: list[list[Any]] = [[] for _ in fields]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    if not columns or not columns[0]:
        return 0
    targets = [_field(model, name) for name in fields]
    arrays = ", ".join(
        f"%s::{field.rel_db_type(connection) if field.is_relation else field.db_type(connection)}[]"
        for field in targets
    )
    names = ", ".join(_column(field) for field in targets)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) "  # noqa: S608
            f"SELECT * FROM unnest({arrays})",
            columns,
        )
    return len(columns[0])


def record_history(
    model: type[Model],
    ids: Sequence[int],
    *,
    at: Any,
    user_id: int | None,
    api_key_id: int | None = None,
    history_type: str = "~",
) -> int:
    """History rows (``~`` changed by default) of these rows as they are now; returns the count.

    ``api_key_id`` is written only where the history table has that column (``ActorHistory``).
    """
    if not ids:
        return 0
    history: type[Model] = model.history.model  # type: ignore[attr-defined]
    quote = connection.ops.quote_name
    mirrored = [
        field for field in history._meta.concrete_fields if field.column not in HISTORY_COLUMNS
    ]
    targets = [_column(field) for field in mirrored]
    sources = [_column(_field(model, field.name)) for field in mirrored]
    values: list[Any] = [at, history_type, user_id]
    targets += ["history_date", "history_type", "history_user_id"]
    sources += ["%s", "%s", "%s"]
    if any(field.column == "history_api_key_id" for field in history._meta.concrete_fields):
        targets.append("history_api_key_id")
        sources.append("%s")
        values.append(api_key_id)
    pk = _column(model._meta.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(targets)}) "  # noqa: S608
            f"SELECT {', '.join(sources)} FROM {quote(model._meta.db_table)} "
            f"WHERE {pk} = ANY(%s) ORDER BY {pk}",
            [*values, list(ids)],
        )
        return int(cursor.rowcount)
