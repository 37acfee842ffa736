"""Load exchange rates: the ECB reference-rate CSV or a plain date,currency,rate CSV."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clearance import regimes
from clearance.services import ServiceError


class Command(BaseCommand):
    help = (
        "Load exchange rates from FILE: the ECB euro reference-rate CSV (Date,USD,JPY,...) or "
        "a CSV with the columns date,currency,rate (units of currency per one --base). "
        "Rates already stored for a date are replaced, so running it twice is harmless."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--base", default="EUR", help="Base currency of a plain CSV (default EUR)."
        )

    def handle(self, *args: Any, file: Path, base: str, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            count = regimes.import_exchange_rates(file, base=base.upper())
        except ServiceError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Loaded {count} exchange rates from {file.name}.")
