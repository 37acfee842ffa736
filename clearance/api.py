"""What every API endpoint shares: one error envelope and the correlation id.

Errors always look like ``{"code", "message", "errors": [{"field", "code", "message"}]}``,
with nested fields written as paths (``lines[2].hs_code``), whatever raised them: a
serializer, a permission check, a missing object or a service's business rule.
"""

from typing import Any

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clearance.errors import ServiceError


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
        response.data = envelope("invalid", "The request has errors; see errors.", errors)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        response.data = envelope(str(getattr(detail, "code", exc.default_code)), str(detail))
    return response
