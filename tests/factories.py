from typing import Any

import factory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearance import services
from clearance.models import Membership, Organisation, User
from clearance.risk.models import RiskRule

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    is_active = True
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save()


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = Organisation.Kind.SELLER
    owner = factory.SubFactory(UserFactory)

    @factory.post_generation
    def owner_membership(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            Membership.objects.get_or_create(
                user=self.owner, organisation=self, defaults={"role": Membership.Role.OWNER}
            )


def staff_user(role: str, *, with_device: bool = True, **kwargs: Any) -> User:
    user = UserFactory(**kwargs)
    services.user_set_roles(user=user, roles=[role], by=None)
    if with_device:
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def current_totp(user: User) -> str:
    from django_otp.oath import totp

    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def hs_rule(
    prefix: str, points: int, reason: str, name: str = "", *, start: str = "2024-01-01"
) -> RiskRule:
    """A risk rule on goods whose HS code starts with ``prefix``, worth ``points``."""
    return RiskRule.objects.create(
        name=name or f"HS {prefix}",
        kind="hs_prefix",
        params={"prefixes": [prefix]},
        points=points,
        effective_from=start,
        reason_template=reason,
    )
