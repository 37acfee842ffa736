"""The errors a service raises when a business rule refuses a request: ``ServiceError`` for
one rule, ``Invalid`` for every rule a submitted record breaks at once."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy


class ServiceError(Exception):
    """A business rule refused the request; ``field`` names the input at fault, if any, and
    ``code`` is the machine-readable reason the API's error envelope carries."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


@dataclass(frozen=True)
class FieldError:
    """One broken rule: the field's path (``lines[2].hs_code``), a code, and words."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class Invalid(ServiceError):
    """A record breaks one or more rules; ``errors`` lists every one, not only the first."""

    def __init__(self, errors: list[FieldError], *, summary: str | Promise = "") -> None:
        first = errors[0]
        super().__init__(first.message, field=first.field, code="invalid")
        self.errors = errors
        # What the API's error envelope says above the list ("The declaration has errors").
        self.summary = summary or gettext_lazy("The request has errors; see errors.")

    def as_dicts(self) -> list[dict[str, str]]:
        return [error.as_dict() for error in self.errors]
