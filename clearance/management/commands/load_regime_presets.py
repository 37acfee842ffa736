"""Create the preset low-value regimes of the 21 APEC economies."""

from typing import Any

from django.core.management.base import BaseCommand

from clearance.presets import load_presets


class Command(BaseCommand):
    help = (
        "Create the preset low-value regime of each APEC economy that has none for the same "
        "start date. Regimes an administrator already configured are left alone."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = load_presets()
        self.stdout.write(f"Created {count} preset regimes.")
