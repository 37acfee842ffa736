"""Make an API key for an organisation and print it once, alone on the last line."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from clearance.models import Organisation, User
from clearance.services import apikey_create, organisation_create


class Command(BaseCommand):
    help = "Create an API key for an organisation; the key is printed once and stored hashed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organisation's name.")
        parser.add_argument(
            "--create",
            metavar="KIND",
            choices=Organisation.Kind.values,
            help="Create the organisation of this kind first if it does not exist.",
        )
        parser.add_argument("--name", default="Command line", help="A name for the key.")
        parser.add_argument(
            "--owner",
            help="Email of the new organisation's owner (with --create); made if missing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["org"].strip()
        with transaction.atomic():
            organisation = Organisation.objects.filter(name__iexact=name).first()
            if organisation is None:
                if not options["create"]:
                    raise CommandError(
                        f"No organisation named {name!r}; add --create KIND to make it."
                    )
                email = options["owner"] or f"owner@{slug(name)}.invalid"
                owner = User.objects.filter(email__iexact=email).first()
                if owner is None:
                    # An owner who cannot sign in until someone sets a password.
                    owner = User.objects.create_user(email=email, password=None)
                organisation = organisation_create(
                    name=name, kind=options["create"], owner=owner, by=None
                )
                self.stdout.write(
                    f"Created organisation {organisation.name} ({organisation.kind})."
                )
            api_key, key = apikey_create(organisation=organisation, name=options["name"], by=None)
        self.stdout.write(f"API key {api_key.prefix} for {organisation.name}; it is shown once:")
        self.stdout.write(key)


def slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-") or "org"
