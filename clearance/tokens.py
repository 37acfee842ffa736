"""Signed tokens sent in email links."""

from datetime import timedelta

from django.core import signing

from clearance.models import User

VERIFY_EMAIL_SALT = "clearance.verify-email"


def verification_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFY_EMAIL_SALT)


def read_verification_token(token: str, *, max_age: timedelta) -> tuple[int, str]:
    """The user id and address a token was made for; raises signing.BadSignature (or its
    subclass SignatureExpired) when it was tampered with or is too old."""
    data = signing.loads(token, salt=VERIFY_EMAIL_SALT, max_age=max_age)
    return int(data["u"]), str(data["e"])
