"""Load demo accounts: one per role, with their organisations. Safe to run again."""

from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearance import regimes, services
from clearance.models import Membership, Organisation, Role, User

DEMO_ORGANISATIONS = [
    ("seller@demo.example", "Demo Seller Co", Organisation.Kind.SELLER),
    ("platform@demo.example", "Demo Marketplace", Organisation.Kind.PLATFORM),
    ("carrier@demo.example", "Demo Express", Organisation.Kind.CARRIER),
]
DEMO_STAFF = [
    ("officer@demo.example", Role.OFFICER),
    ("supervisor@demo.example", Role.SUPERVISOR),
    ("editor@demo.example", Role.EDITOR),
    ("admin@demo.example", Role.ADMINISTRATOR),
]


class Command(BaseCommand):
    help = "Create demo accounts for every role and print how to sign in as each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="demo-password-2026")
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off (never on a real deployment).",
        )

    def handle(self, *args: Any, password: str, allow_production: bool, **options: Any) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError("seed_demo refuses to run with DEBUG off; pass --allow-production")
        lines = []
        people: dict[str, Any] = {}
        with transaction.atomic():
            for email, org_name, kind in DEMO_ORGANISATIONS:
                user = self._user(email, password)
                organisation = Organisation.objects.filter(name=org_name).first()
                if organisation is None:
                    organisation = services.organisation_create(
                        name=org_name, kind=kind, owner=user, by=None
                    )
                else:
                    Membership.objects.get_or_create(
                        user=user,
                        organisation=organisation,
                        defaults={"role": Membership.Role.OWNER},
                    )
                people[kind] = organisation
                lines.append(f"  {kind:<13} {email:<26} {password}")
            for email, role in DEMO_STAFF:
                user = self._user(email, password)
                services.user_set_roles(user=user, roles=[role], by=None)
                people[role] = user
                TOTPDevice.objects.get_or_create(
                    user=user, name="Demo authenticator", defaults={"confirmed": True}
                )
                codes = services.backup_codes_reset(user=user)
                lines.append(
                    f"  {role:<13} {email:<26} {password}   backup codes: {' '.join(codes[:5])}"
                )
        self.stdout.write("Demo sign-ins (staff enter a backup code at the second-factor step):")
        for line in lines:
            self.stdout.write(line)
        self.stdout.write("Low-value mode: " + regimes.load_demo() + ".")
        # Each app may add demo data through ``<app>/demo.py: seed_demo(people) -> str``;
        # found by name so that the core imports no other app, and run in the order of
        # INSTALLED_APPS, so an app's demo finds the data of the apps below it.
        for config in apps.get_app_configs():
            module_name = f"{config.name}.demo"
            try:
                module = import_module(module_name)
            except ModuleNotFoundError as error:
                if error.name == module_name:
                    continue
                raise
            seed = getattr(module, "seed_demo", None)
            if seed is not None:
                self.stdout.write(f"{config.verbose_name}: {seed(people)}.")

    def _user(self, email: str, password: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, password, full_name=email.split("@")[0].title())
        user.set_password(password)
        user.is_active = True
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.save()
        return user
