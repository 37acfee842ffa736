"""Writes for accounts, organisations and notifications.

Each service owns its transaction, records the acting user on the history rows it causes, and
queues side effects (email) only after the transaction commits.
"""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from clearance.actors import Actor, stamped
from clearance.errors import ServiceError
from clearance.limits import may_email
from clearance.mail import render_message
from clearance.models import ApiKey, Membership, Notification, Organisation, Role, User
from clearance.queue import enqueue_on_commit
from clearance.tokens import read_verification_token
from clearance.workflow import lock_row, lock_rows


def seller_register(
    *,
    email: str,
    password: str,
    full_name: str,
    organisation_name: str,
    country: str = "",
    language: str = "en",
) -> User | None:
    """Create an inactive seller account and its organisation, and send the confirmation email.

    The account signs in only after the address is confirmed (``user_verify_email``).

    Registration never says whether an address has an account: for an address that has one,
    nothing is created, the page says "check your email" as for a new one, and the message goes
    to that address saying someone tried to register with it (with the way to sign in or reset
    the password). The password is hashed either way, so the answer takes as long. Returns
    None in that case.
    """
    email = User.objects.normalize_email(email).strip().lower()
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        make_password(password)
        if may_email(email):
            enqueue_on_commit("clearance.send_already_registered_email", existing.pk)
        return None
    if Organisation.objects.filter(name__iexact=organisation_name.strip()).exists():
        raise ServiceError(
            "An organisation with this name is already registered.", field="organisation_name"
        )
    with transaction.atomic():
        user = User(email=email, full_name=full_name, language=language, is_active=False)
        user.set_password(password)
        stamped(user, None).save()
        organisation = Organisation(
            name=organisation_name.strip(),
            kind=Organisation.Kind.SELLER,
            owner=user,
            country=country,
        )
        stamped(organisation, user).save()
        stamped(
            Membership(user=user, organisation=organisation, role=Membership.Role.OWNER), user
        ).save()
        enqueue_on_commit("clearance.send_verification_email", user.pk)
    return user


def user_verify_email(*, token: str) -> User:
    """Activate the account the token was made for. Using a token twice is harmless."""
    try:
        user_id, email = read_verification_token(token, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ServiceError("This confirmation link has expired.", code="expired") from None
    except signing.BadSignature:
        raise ServiceError("This confirmation link is not valid.", code="invalid") from None
    with transaction.atomic():
        user = lock_rows(User.objects.filter(pk=user_id, email=email)).first()
        if user is None:
            raise ServiceError("This confirmation link is not valid.", code="invalid")
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
            user.is_active = True
            stamped(user, user).save(update_fields=["email_verified_at", "is_active"])
            notify(
                event="account_ready",
                recipients=[user],
                context={"name": user.get_short_name()},
                url="/dashboard/",
            )
    return user


def organisation_create(*, name: str, kind: str, owner: User, by: User | None) -> Organisation:
    with transaction.atomic():
        organisation = Organisation(name=name, kind=kind, owner=owner)
        stamped(organisation, by).save()
        stamped(
            Membership(user=owner, organisation=organisation, role=Membership.Role.OWNER), by
        ).save()
    return organisation


def user_set_roles(*, user: User, roles: Iterable[str], by: User | None) -> None:
    """Give a user exactly these staff roles. Administrators also reach the admin site."""
    names = set(roles)
    unknown = names - set(Role.values)
    if unknown:
        raise ServiceError(f"Unknown role: {', '.join(sorted(unknown))}.", field="roles")
    with transaction.atomic():
        # get_or_create, not a plain lookup: the groups come from a data migration, but a
        # database emptied by a test flush (or a restore) must not silently drop a role.
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in sorted(names)])
        user.is_staff = user.is_superuser or Role.ADMINISTRATOR in names
        # The m2m change writes no history row of its own: this save records who did it.
        stamped(user, by).save(update_fields=["is_staff"])
    user.__dict__.pop("_role_names", None)


def notify(
    *,
    event: str,
    recipients: Iterable[User] = (),
    organisation: Organisation | None = None,
    context: dict[str, Any] | None = None,
    url: str = "",
    email: bool = True,
) -> list[Notification]:
    """Tell people of an event: an in-app notification each, and an email sent after commit.

    ``organisation`` adds every member of it. Call inside the caller's transaction: if that
    rolls back, nothing is shown and nothing is sent.
    """
    context = dict(context or {})
    people: dict[int, User] = {user.pk: user for user in recipients}
    if organisation is not None:
        for member in organisation.members.filter(is_active=True):
            people.setdefault(member.pk, member)
    created = []
    with transaction.atomic():
        for user in people.values():
            subject, text, _html = render_message(f"notifications/{event}", context, user.language)
            created.append(
                Notification.objects.create(
                    recipient=user,
                    organisation=organisation,
                    event=event,
                    subject=subject,
                    body=text,
                    url=url,
                    context=context,
                    email_status=(
                        Notification.EmailStatus.PENDING
                        if email
                        else Notification.EmailStatus.SKIPPED
                    ),
                )
            )
        for notification in created:
            if email:
                enqueue_on_commit("clearance.send_notification_email", notification.pk)
    return created


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one notification (or all of them) read; returns how many changed."""
    qs = Notification.objects.for_user(user).unread()
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())


def backup_codes_reset(*, user: User, count: int = 10) -> list[str]:
    """Replace a user's one-time backup codes; the caller shows them once."""
    with transaction.atomic():
        device, _created = StaticDevice.objects.get_or_create(
            user=user, name="backup", defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(count)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


# --- API keys ------------------------------------------------------------------------------


def apikey_create(*, organisation: Organisation, name: str, by: User | None) -> tuple[ApiKey, str]:
    """Make an API key; the key itself is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ServiceError(_("Give the key a name."), field="name")
    prefix, key = ApiKey.generate()
    api_key = ApiKey(
        organisation=organisation,
        name=name[:100],
        prefix=prefix,
        secret_hash=ApiKey.digest(key),
        created_by=by,
    )
    with transaction.atomic():
        Actor(user=by).stamp(api_key).save()
    return api_key, key


def apikey_revoke(*, api_key: ApiKey, by: User | None) -> None:
    with transaction.atomic():
        locked = lock_row(ApiKey.objects.all(), pk=api_key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            Actor(user=by).stamp(locked).save(update_fields=["revoked_at"])
            api_key.revoked_at = locked.revoked_at


def apikey_authenticate(key: str) -> ApiKey | None:
    """The active key that ``key`` is, or None. Records its use at most once a minute."""
    prefix = ApiKey.prefix_of(key)
    if prefix is None:
        return None
    api_key = ApiKey.objects.active().select_related("organisation").filter(prefix=prefix).first()
    if api_key is None or not api_key.matches(key):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        # No history row: last use is bookkeeping, not a change anyone made.
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
