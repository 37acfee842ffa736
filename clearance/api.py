"""What every API endpoint shares: authentication by API key, idempotent writes, and one error
envelope.

Clients authenticate with an organisation's API key (``Authorization: Bearer KEY``) and see
only that organisation's records. Every write honours an ``Idempotency-Key`` header: the same
key with the same body returns the first answer and creates nothing; with another body it is
refused (422). A unique constraint makes concurrent duplicates safe (``IdempotencyRecord``).

Errors always look like ``{"code", "message", "errors": [{"field", "code", "message"}]}``,
with nested fields written as paths (``lines[2].hs_code``), whatever raised them: a
serializer, a permission check, a missing object or a service's business rule (every broken
rule at once, when it is ``Invalid``).
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from clearance.actors import Actor
from clearance.errors import Invalid, ServiceError
from clearance.models import ApiKey, IdempotencyRecord, Organisation
from clearance.services import apikey_authenticate


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error detail into a flat list of ``{"field", "code", "message"}``."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            if isinstance(key, int):  # a list serializer's errors, keyed by item index
                out += flatten_errors(value, f"{path}[{key}]")
                continue
            name = "" if key in ("non_field_errors", "detail") else str(key)
            sub = f"{path}.{name}" if path and name else (path or name)
            out += flatten_errors(value, sub)
        return out
    if isinstance(detail, list):
        if all(isinstance(item, (str, exceptions.ErrorDetail)) for item in detail):
            return [item for value in detail for item in flatten_errors(value, path)]
        out = []
        for index, value in enumerate(detail):
            if value:  # DRF puts {} for list items without errors
                out += flatten_errors(value, f"{path}[{index}]")
        return out
    code = getattr(detail, "code", "invalid") or "invalid"
    return [{"field": path, "code": str(code), "message": str(detail)}]


def envelope(code: str, message: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "errors": errors or []}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Invalid):
        body = envelope("invalid", str(exc.summary), exc.as_dicts())
        return Response(body, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, ServiceError):
        body = envelope(
            exc.code,
            exc.message,
            [{"field": exc.field or "", "code": exc.code, "message": exc.message}],
        )
        return Response(body, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        response.data = envelope("invalid", str(_("The request has errors; see errors.")), errors)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        response.data = envelope(str(getattr(detail, "code", exc.default_code)), str(detail))
    return response


# --- Authentication ------------------------------------------------------------------------


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer KEY`` with an organisation's active API key."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise AuthenticationFailed(_("Send the key as: Authorization: Bearer KEY."))
        api_key = apikey_authenticate(header[1].decode("latin-1"))
        if api_key is None:
            raise AuthenticationFailed(_("This API key is not valid or has been revoked."))
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "clearance.api.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An organisation's API key."}


class HasApiKey(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiKey)


class ApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]

    def organisation(self) -> Organisation:
        api_key = self.request.auth
        assert isinstance(api_key, ApiKey)
        return api_key.organisation

    def actor(self) -> Actor:
        return Actor.of(None, self.request.auth)


# --- Idempotency ---------------------------------------------------------------------------


def request_fingerprint(request: Request, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent(
    request: Request, organisation: Organisation, body: Any, produce: Callable[[], Response]
) -> Response:
    """Run ``produce`` once per ``Idempotency-Key``, replaying its answer afterwards.

    The record is inserted first, in the same transaction as the write: a concurrent request
    with the same key blocks on the unique index until this one commits, then finds the
    record and replays it. If the write fails, the record rolls back with it.
    """
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return produce()
    if len(key) > 255:
        raise ValidationError({"Idempotency-Key": [_("Use at most 255 characters.")]})
    fingerprint = request_fingerprint(request, body)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    organisation=organisation, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(organisation=organisation, key=key)
            if record.request_hash != fingerprint:
                raise ServiceError(
                    _("This Idempotency-Key was already used with a different request."),
                    field="Idempotency-Key",
                    code="idempotency_key_reused",
                ) from None
            return Response(
                record.response_body,
                status=record.response_status,
                headers={"Idempotent-Replayed": "true"},
            )
        response = produce()
        record.response_status = response.status_code
        record.response_body = response.data
        record.save(update_fields=["response_status", "response_body"])
    return response
