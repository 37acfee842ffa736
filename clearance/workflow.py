"""Status workflows and row locks, one way for every app.

A workflow is data: its statuses and the table of moves it allows. ``Workflow.check`` is the one
guard every move goes through (declarations, refunds, publication versions, consultations,
comments); a move the table does not list is refused with the same words everywhere.

Rows are locked through named helpers built on ``lock_rows``: always ``select_for_update`` of
the row itself, in primary-key order, so that two writers locking the same rows take them in the
same order and cannot deadlock (Saleor's ``order/lock_objects.py`` is the model).
"""

from collections.abc import Collection, Mapping
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from clearance.errors import ServiceError


class Workflow:
    """The allowed moves of one kind of record; ``subject`` names it in an error ("refund")."""

    def __init__(
        self,
        subject: str | Promise,
        statuses: type[models.TextChoices],
        moves: Mapping[str, Collection[str]],
    ) -> None:
        self.subject = subject
        self.statuses = statuses
        self.moves = moves

    def allows(self, current: str, target: str) -> bool:
        return target in self.moves.get(current, ())

    def check(
        self, current: str, target: str, *, leaving: str | Collection[str] | None = None
    ) -> None:
        """Refuse a move the table does not list, naming both statuses in words.

        ``leaving`` is the status (or statuses) the caller decided the move from; a record that
        has since moved elsewhere is refused in the same words, so a move is never made on a
        stale read.
        """
        expected = (leaving,) if isinstance(leaving, str) else leaving
        if (expected is not None and current not in expected) or not self.allows(current, target):
            raise ServiceError(
                _("A %(subject)s that is %(current)s cannot become %(target)s.")
                % {
                    "subject": self.subject,
                    "current": self._label(current),
                    "target": self._label(target),
                },
                field="status",
                code="invalid_transition",
            )

    def _label(self, status: str) -> str:
        try:
            return str(self.statuses(status).label)
        except ValueError:
            return status


def lock_rows[M: models.Model](
    queryset: models.QuerySet[M], *, skip_locked: bool = False
) -> models.QuerySet[M]:
    """The rows of ``queryset`` locked for update (only their own table's rows, not those of a
    ``select_related``), in primary-key order. With ``skip_locked``, rows another transaction
    holds are passed over (for sweeps that any worker may run)."""
    return queryset.select_for_update(of=("self",), skip_locked=skip_locked).order_by("pk")


def lock_row[M: models.Model](queryset: models.QuerySet[M], **lookup: Any) -> M:
    """The one row of ``queryset`` that ``lookup`` finds, locked for update; raises
    ``DoesNotExist`` when there is none."""
    return lock_rows(queryset.filter(**lookup)).get()
