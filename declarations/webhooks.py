"""Webhook endpoints: an organisation's systems are told of its events by a signed POST.

An organisation's owner (in the browser) or its systems (by API key) add, change, disable,
enable and delete its endpoints here; the deliveries themselves are in
``declarations.webhook_delivery``.

Choices made here:

- **Addresses.** An endpoint is an ``https://`` address whose host resolves only to public
  addresses: a private, loopback, link-local, multicast, reserved or unspecified address is
  refused, so that an endpoint cannot make the portal call into its own network. The rule is
  checked when an endpoint is saved (``url``, ``https_required`` or ``address_not_public``)
  and again before every send, whose connection then goes to the very address that was
  checked (``addresses``), so a name that resolves elsewhere a moment later (DNS rebinding)
  is never followed. With ``DEBUG`` on, ``http://`` and local addresses are allowed, for
  development.
- **The secret** is a Standard Webhooks secret, ``whsec_`` and 32 random bytes in base64. It
  is returned once, when made or rotated, and never shown again.
- **Event types**: see ``declarations.webhook_models``. At least one, each a known type.
- **Who.** Every change is saved with its actor on the endpoint's history (the secret is not
  copied there). Disabling by hand and enabling are changes like the others; enabling
  resumes the deliveries that were waiting.
"""

import base64
import ipaddress
import secrets
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import Actor
from clearance.errors import ServiceError
from clearance.models import Organisation
from clearance.workflow import lock_row
from declarations.events import EVENT_TYPES
from declarations.models import WebhookDelivery, WebhookEndpoint

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
URL_MAX = 500
DESCRIPTION_MAX = 200


# --- Addresses -----------------------------------------------------------------------------


def is_public(address: IPAddress) -> bool:
    """A global unicast address: not private, loopback, link-local, multicast, reserved or
    unspecified (an IPv4 address written as IPv6 is judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def addresses(url: str) -> list[str]:
    """The addresses ``url`` may be sent to, resolved now; a ``ServiceError`` on ``url`` when
    the address breaks the rules (see the module's docstring)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ServiceError(
            _("Enter a full web address, starting with https://."), field="url", code="invalid"
        )
    if parts.scheme != "https" and not settings.DEBUG:
        raise ServiceError(
            _("Use an https:// address: deliveries are sent only over TLS."),
            field="url",
            code="https_required",
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = resolve(parts.hostname, port)
    except (OSError, ValueError, UnicodeError):
        found = []
    if not found:
        raise ServiceError(
            _("The host %(host)s could not be found.") % {"host": parts.hostname},
            field="url",
            code="unresolvable",
        )
    if not settings.DEBUG:
        for address in found:
            if not is_public(ipaddress.ip_address(address)):
                raise ServiceError(
                    _(
                        "The host %(host)s leads to %(address)s, a private, loopback or "
                        "link-local address: use an address reachable on the internet."
                    )
                    % {"host": parts.hostname, "address": address},
                    field="url",
                    code="address_not_public",
                )
    return found


# --- Endpoints -----------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks signing secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def clean_event_types(event_types: Any) -> list[str]:
    """The known types asked for, in the order of ``EVENT_TYPES``; at least one."""
    if not isinstance(event_types, (list, tuple)) or not event_types:
        raise ServiceError(
            _("Choose at least one event type."), field="event_types", code="required"
        )
    unknown = [str(t) for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise ServiceError(
            _("Unknown event type: %(types)s.") % {"types": ", ".join(unknown)},
            field="event_types",
            code="invalid_choice",
        )
    return [t for t in EVENT_TYPES if t in event_types]


def _clean_url(given: Any) -> str:
    url = str(given or "").strip()
    if not url:
        raise ServiceError(_("Enter the endpoint's address."), field="url", code="required")
    if len(url) > URL_MAX:
        raise ServiceError(
            _("Use at most %(max)d characters.") % {"max": URL_MAX}, field="url", code="max_length"
        )
    addresses(url)
    return url


def _clean_description(given: Any) -> str:
    description = str(given or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ServiceError(
            _("Use at most %(max)d characters.") % {"max": DESCRIPTION_MAX},
            field="description",
            code="max_length",
        )
    return description


def endpoint_create(
    *,
    organisation: Organisation,
    url: Any,
    event_types: Any,
    description: Any = "",
    actor: Actor,
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; its secret is returned this once."""
    endpoint = WebhookEndpoint(
        organisation=organisation,
        url=_clean_url(url),
        event_types=clean_event_types(event_types),
        description=_clean_description(description),
        secret=new_secret(),
        created_by=actor.user,
        created_by_key=actor.api_key,
    )
    with transaction.atomic():
        actor.stamp(endpoint).save()
    return endpoint, endpoint.secret


def endpoint_update(
    *, endpoint: WebhookEndpoint, changes: dict[str, Any], actor: Actor
) -> WebhookEndpoint:
    """Change an endpoint's ``url``, ``description``, ``event_types`` or ``active`` (only the
    keys given); every value is checked before anything is saved."""
    clean: dict[str, Any] = {}
    if "url" in changes:
        clean["url"] = _clean_url(changes["url"])
    if "description" in changes:
        clean["description"] = _clean_description(changes["description"])
    if "event_types" in changes:
        clean["event_types"] = clean_event_types(changes["event_types"])
    with transaction.atomic():
        locked = lock_row(WebhookEndpoint.objects.all(), pk=endpoint.pk)
        for name, value in clean.items():
            setattr(locked, name, value)
        if "active" in changes and bool(changes["active"]) != locked.active:
            _set_active(locked, bool(changes["active"]))
        actor.stamp(locked).save()
    return locked


def _set_active(endpoint: WebhookEndpoint, active: bool) -> None:
    endpoint.active = active
    if active:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
        # The deliveries that waited while it was off are due now.
        WebhookDelivery.objects.filter(
            endpoint=endpoint, state=WebhookDelivery.State.PENDING
        ).update(next_attempt_at=timezone.now(), queued_until=None)
    else:
        endpoint.disabled_at = timezone.now()
        endpoint.disabled_reason = str(_("Disabled by hand."))


def endpoint_set_active(
    *, endpoint: WebhookEndpoint, active: bool, actor: Actor
) -> WebhookEndpoint:
    return endpoint_update(endpoint=endpoint, changes={"active": active}, actor=actor)


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Actor) -> str:
    """Give the endpoint a new secret (returned this once); the old one stops at once."""
    with transaction.atomic():
        locked = lock_row(WebhookEndpoint.objects.all(), pk=endpoint.pk)
        locked.secret = new_secret()
        actor.stamp(locked).save(update_fields=["secret"])
    endpoint.secret = locked.secret
    return locked.secret


def endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    """Delete an endpoint with its deliveries; its history records who deleted it."""
    with transaction.atomic():
        locked = lock_row(WebhookEndpoint.objects.all(), pk=endpoint.pk)
        actor.stamp(locked).delete()


def endpoints_of(organisation_ids: Iterable[int]) -> Any:
    return WebhookEndpoint.objects.filter(organisation_id__in=list(organisation_ids))
