"""Webhooks: an organisation's endpoints, one delivery per event and endpoint, and each attempt.

These models live beside ``declarations.models`` (which imports them, so Django finds them in
this app) to keep each module short; the services are in ``declarations.webhooks`` and
``declarations.webhook_delivery``.

Choices made here:

- **Event types.** An endpoint names the types it wants, at least one: an empty list is
  refused rather than read as "everything", so that a type added later never reaches a
  system that was not written for it. Each type is one of ``events.EVENT_TYPES``.
- **The secret** is stored as the Standard Webhooks ``whsec_<base64>`` text because every
  send signs with it (a hash would not do). It is shown once, when made or rotated, and is
  kept out of the history rows and the admin site.
- **A delivery** is one event for one endpoint, unique on the pair: the relay may insert it
  twice without harm, and its id is the ``webhook-id`` header of every attempt, so a receiver
  can drop duplicates. ``next_attempt_at`` says when it is due; ``queued_until`` keeps the
  sweep from queueing it again while a send waits in the queue; ``claimed_until`` is held by
  the one worker posting it, so no other posts it at the same time.
"""

from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clearance.models import ActorHistory


class WebhookEndpoint(models.Model):
    """Where an organisation's systems want to be told of its events, signed with ``secret``."""

    organisation = models.ForeignKey(
        "clearance.Organisation", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("address"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=40), verbose_name=_("event types"))
    secret = models.CharField(max_length=100)
    active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why it was disabled"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.ForeignKey(
        "clearance.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = HistoricalRecords(bases=[ActorHistory], excluded_fields=["secret"])

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: pending until a 2xx answer (delivered) or until its retries
    run out (failed)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Indexed by the unique constraint below, which starts with the endpoint.
    event = models.ForeignKey(
        "declarations.Event", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    queued_until = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_unique")
        ]
        indexes = [
            # The sweep reads only the few deliveries still waiting, by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["event"], name="webhook_delivery_event"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id}/{self.event_id} {self.state}"


class WebhookAttempt(models.Model):
    """One POST of a delivery (or one refused before it was sent), as the delivery log shows it."""

    EXCERPT = 500

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("answer"), null=True, blank=True)
    response_excerpt = models.CharField(_("answer's start"), max_length=EXCERPT, blank=True)
    error = models.CharField(_("error"), max_length=EXCERPT, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    manual = models.BooleanField(_("redelivered by hand"), default=False)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["delivery", "at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookRelay(models.Model):
    """The relay's place in the event feed: one row, locked while the relay works."""

    tx = models.BigIntegerField(default=0)
    event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.tx}.{self.event_id}"
