"""Load duty rates by HS prefix from a CSV file."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clearance.errors import ServiceError
from clearance.tariff import import_tariff


class Command(BaseCommand):
    help = (
        "Load tariff rows from FILE with the columns economy,hs_prefix,rate,specific_amount,"
        "effective_from (and optional effective_to, description). A row for an existing "
        "economy, prefix and start date replaces it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            count = import_tariff(file.read_text(encoding="utf-8"))
        except ServiceError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Loaded {count} tariff rows from {file.name}.")
