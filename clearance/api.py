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

What the schema says is what the server holds to, in two kinds of refusal:

- **400**: the request does not have the shape the schema gives (a wrong type, a value outside
  an enum, a pattern or a length, a required field missing). The fields below (``Text``,
  ``DecimalText``, ``Flag``, ``COUNTRIES``, ``CURRENCIES``) take exactly what their schema
  says: a JSON string and nothing else, no trimming, no NUL character, whole-value patterns.
- **422**: the shape is right but a business rule refuses it (an HS code that is not in the
  nomenclature, a move the declaration's status does not allow, a refund above what was
  paid). The schema cannot state these; ``schemathesis.toml`` names the operations.

``document_errors`` (a drf-spectacular postprocessing hook) writes the error statuses each
operation can answer into the schema, all in the ``Error`` envelope.
"""

import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from clearance import reference
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


# --- Fields whose schema is exactly what they accept ----------------------------------------

# Any text but the NUL character (PostgreSQL cannot store it); one character at least, an
# empty value being allowed, where it is, as its own ``maxLength: 0`` branch.
NO_NUL = "^[^\\x00]+$"
HS_CODE = "^[0-9]{6}$"


def decimal_pattern(digits: int, places: int) -> str:
    """A non-negative decimal number written out: at most ``digits`` and ``places``."""
    return f"^[0-9]{{1,{digits}}}(\\.[0-9]{{1,{places}}})?$"


class WholePattern(RegexValidator):
    """A pattern matched against the whole value, as JSON Schema's ``^…$`` means it (Python's
    ``$`` would also match before a final newline). Its ``regex`` is what the schema shows."""

    def __call__(self, value: Any) -> None:
        pattern = self.regex if isinstance(self.regex, str) else self.regex.pattern
        inner = pattern.removeprefix("^").removesuffix("$")
        if not isinstance(value, str) or re.fullmatch(inner, value) is None:
            raise DjangoValidationError(self.message, code=self.code)


class Text(serializers.CharField):
    """A JSON string taken as sent: a number is not text, nothing is trimmed, and the value
    matches ``pattern`` (by default: no NUL character)."""

    def __init__(self, *, pattern: str = NO_NUL, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        message = format_lazy(gettext_lazy("Match the pattern {pattern}."), pattern=pattern)
        self.validators.append(WholePattern(pattern, message=message))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class DecimalText(Text):
    """A decimal number written as a string (``"12.50"``), at most ``digits`` before the point
    and ``places`` after it, read as a ``Decimal``."""

    def __init__(self, *, digits: int = 12, places: int = 6, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "A decimal number as a string, such as 12.50.")
        super().__init__(pattern=decimal_pattern(digits, places), **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        # The pattern is checked on the text; the number is read once it holds.
        value = super().run_validation(data)
        return Decimal(value) if isinstance(value, str) and value else value

    def to_representation(self, value: Any) -> str:
        return str(value)


class Flag(serializers.BooleanField):
    """``true`` or ``false`` in JSON, nothing else (no ``"yes"``, no ``1``)."""

    def to_internal_value(self, data: Any) -> bool:
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)
        raise AssertionError  # fail() raises


class Whole(serializers.IntegerField):
    """A whole number: a JSON integer, or in a query or form, digits with an optional minus
    (no ``1.0``, no spaces)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str) and re.fullmatch("-?[0-9]{1,19}", data) is None:
            self.fail("invalid")
        return int(super().to_internal_value(data))


def country_choices() -> list[str]:
    """ISO 3166-1 alpha-2 codes, the ones the server validates against."""
    return sorted(reference.countries())


def currency_choices() -> list[str]:
    """Current ISO 4217 codes, the ones the server validates against."""
    return sorted(reference.currencies())


COUNTRIES = country_choices()
CURRENCIES = currency_choices()


# --- Pages ------------------------------------------------------------------------------------


class Pages(PageNumberPagination):
    """``?page=N`` with ``{"count", "next", "previous", "results"}``. A page that is not a
    whole number from 1 is a 400 naming ``page``; a page past the last is a 404."""

    last_page_strings = ()

    def get_page_number(self, request: Any, paginator: Any) -> int:
        text = request.query_params.get(self.page_query_param)
        if text is None:
            return 1
        if re.fullmatch("[0-9]{1,9}", text) is None or int(text) < 1:
            raise ValidationError({"page": [_("Use a whole number from 1.")]}, code="invalid")
        return int(text)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 999999999}
        return parameters


PAGE_PARAMETER = OpenApiParameter(
    "page",
    {"type": "integer", "minimum": 1, "maximum": 999999999},
    description="A page number; the first when not given.",
)


def page_of(name: str, item: Any) -> Any:
    """The schema of a ``Pages`` page of ``item`` serializers."""
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


class IdCursor(CursorPagination):
    """Cursor pages, newest first, with a cursor the schema can state exactly: ``n`` or ``r``
    (forwards or back), the offset, and ``p`` with the id to start from (``n0p1234``). Anything
    else is a 400 naming ``cursor``, never DRF's 404 "Invalid cursor"."""

    ordering = "-id"
    page_size = 50
    PATTERN = "^[nr][0-9]{1,4}(p[0-9]{1,18})?$"

    def decode_cursor(self, request: Request) -> Cursor | None:
        text = request.query_params.get(self.cursor_query_param)
        if text is None:
            return None
        found = re.fullmatch(self.PATTERN[1:-1], text)
        if found is None:
            raise ValidationError(
                {"cursor": [_("Use the cursor of a page's next or previous link.")]},
                code="invalid",
            )
        position = text.partition("p")[2] or None
        offset = min(int(text[1:].partition("p")[0]), self.offset_cutoff)
        # DRF compares the position with the ordering field as the text it wrote.
        return Cursor(offset=offset, reverse=text[0] == "r", position=cast(Any, position))

    def encode_cursor(self, cursor: Cursor) -> str:
        text = f"{'r' if cursor.reverse else 'n'}{cursor.offset}"
        if cursor.position is not None:
            text += f"p{cursor.position}"
        return str(replace_query_param(str(self.base_url), self.cursor_query_param, text))


# --- The error statuses in the schema -------------------------------------------------------

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every refusal: a code, a message, and each broken rule by field path.",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
    },
    "required": ["code", "message", "errors"],
}
FIELD_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "field": {"type": "string", "description": "A path such as lines[2].hs_code."},
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["field", "code", "message"],
}
STATUSES = {
    "400": "The request does not have the shape the schema gives; `errors` names each field.",
    "401": "No valid API key (send `Authorization: Bearer KEY`).",
    "404": "No such record of your organisation, or no such page.",
    "413": "The body is larger than the portal takes (`REQUEST_MAX_BYTES`).",
    "415": "The body is not in a content type this operation takes.",
    "422": "A business rule refused the request; `errors` names each field and rule.",
    "429": "Too many requests from this address; try again later.",
}


def _throttled(generator: Any) -> set[tuple[str, str]]:
    """(path, method) of the operations whose view is throttled."""
    found = set()
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or []:
        view = getattr(callback, "cls", None)
        if view is not None and getattr(view, "throttle_classes", None):
            found.add((path.replace("{pk}", "{id}"), method.lower()))
    return found


def error_statuses(operation: dict[str, Any], throttled: bool) -> list[str]:
    """The error statuses the server can answer for this operation, read from what it takes:

    - 400 when it reads a body, a query parameter or a header (each is validated);
    - 401 when it needs the API key;
    - 404 when it has path parameters (a record of another organisation, or none) or pages;
    - 413 when it reads a body (one too large is refused before it is read);
    - 415 when it reads a body (another content type is refused);
    - 422 when it honours ``Idempotency-Key`` (the same key with another body);
    - 429 when its view is throttled.

    Other 404s and 422s (a business rule) are declared on the view itself and kept.
    """
    parameters = operation.get("parameters", [])
    places = {p["in"] for p in parameters}
    names = {p["name"] for p in parameters}
    body = "requestBody" in operation
    keyed = any("ApiKey" in requirement for requirement in operation.get("security", []))
    wanted = {
        "400": body or bool(places & {"query", "header"}),
        "401": keyed,
        "404": "path" in places or "page" in names,
        "413": body,
        "415": body,
        "422": "Idempotency-Key" in names,
        "429": throttled,
    }
    return [code for code, applies in wanted.items() if applies]


def document_errors(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the ``Error`` envelope as a component, and on every
    API operation the error statuses it can answer (``error_statuses``), each in that
    envelope. A status the view already documents keeps its own description."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["FieldError"] = FIELD_ERROR_SCHEMA
    throttled = _throttled(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in error_statuses(operation, (path, method) in throttled):
                responses.setdefault(
                    code,
                    {"description": STATUSES[code], "content": {"application/json": {}}},
                )
            for code, response in responses.items():
                if code.startswith("4"):
                    response.setdefault("description", STATUSES.get(code, ""))
                    response["content"] = {"application/json": {"schema": ERROR_REF}}
    return result
