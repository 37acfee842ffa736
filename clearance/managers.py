"""How the core's tables are created and queried: the manager that signs users up by email,
and the reusable filters of API keys, notifications and regimes (``Regime.objects.in_force``).
"""

import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import BaseUserManager
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    # For type checking only (the models import this module to build their managers); the
    # generic bases name the models as strings, which the linter does not count as uses.
    from clearance.models import ApiKey, Notification, Regime, User  # noqa: F401


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("email_verified_at", timezone.now())
        return self._create_user(email, password, **extra)


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> "NotificationQuerySet":
        return self.filter(read_at__isnull=True)

    def for_user(self, user: "User") -> "NotificationQuerySet":
        return self.filter(recipient=user)


class RegimeQuerySet(models.QuerySet["Regime"]):
    def in_force(self, on: datetime.date) -> "RegimeQuerySet":
        return self.filter(effective_from__lte=on).filter(
            models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=on)
        )
