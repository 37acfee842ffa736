"""Load what a new portal needs before its first parcel: regimes, rates, tariff."""

from typing import Any

from django.core.management.base import BaseCommand

from clearance import regimes


class Command(BaseCommand):
    help = (
        "Create the APEC preset regimes, load the shipped ECB exchange rates and the demo "
        "tariff. Safe to run again: what exists is left alone, rates are replaced by the same."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(regimes.load_reference_data() + ".")
