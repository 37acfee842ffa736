"""Render again the texts whose figures (settings, regimes) changed; see publications.figures."""

from typing import Any

from django.core.management.base import BaseCommand

from publications import publishing


class Command(BaseCommand):
    help = (
        "Render again every text whose placeholders now give other figures than it states: "
        "run after a deployment that changes REFUND_RETURN_PERIOD_DAYS or "
        "STATEMENT_PAYMENT_DAYS. Texts that already agree are left alone."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = publishing.versions_refresh_figures()
        self.stdout.write(f"Rendered {count} texts again.")
