"""Fetch the exchange-rate feed now, as beat does every hour."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clearance import ratefeed
from clearance.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Fetch the exchange-rate feed (EXCHANGE_RATE_FEED_URL, or --url) and store its rates; "
        "declarations held for a missing rate are then assessed again. Beat does this every hour."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="", help="Another address than the setting's.")
        parser.add_argument(
            "--if-reachable",
            action="store_true",
            help="Only warn when the feed cannot be reached (a first start on a closed network).",
        )

    def handle(self, *args: Any, url: str, if_reachable: bool, **options: Any) -> None:
        url = url or settings.EXCHANGE_RATE_FEED_URL
        try:
            result = ratefeed.feed_import(url)
        except ServiceError as error:
            raise CommandError(error.message) from error
        except OSError as error:
            if not if_reachable:
                raise CommandError(f"Could not fetch {url}: {error}") from error
            self.stderr.write(f"Could not fetch {url} ({error}); beat tries again every hour.")
            return
        if result.unchanged:
            self.stdout.write(f"{url}: not changed since the last fetch.")
        else:
            self.stdout.write(f"{url}: {result.stored} rates stored, newest {result.newest}.")
