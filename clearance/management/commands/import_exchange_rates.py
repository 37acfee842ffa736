"""Load exchange rates: the ECB reference-rate file or a plain date,currency,rate CSV."""

import io
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clearance import ratefeed
from clearance.errors import ServiceError
from clearance.exchange_rates import rates_import


class Command(BaseCommand):
    help = (
        "Load exchange rates from FILE: the ECB euro reference-rate file (eurofxref.zip, "
        "eurofxref-hist.zip, or the CSV inside) or a CSV with the columns date,currency,rate "
        "(units of currency per one --base). Rates already stored for a date are replaced, so "
        "running it twice is harmless. Declarations held for a missing rate are assessed again."
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
            text = ratefeed.unpack(file.read_bytes())
            count, newest = rates_import(
                io.StringIO(text, newline=""), source=file.name, base=base.upper()
            )
        except ServiceError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Loaded {count} exchange rates from {file.name}, newest {newest}.")
