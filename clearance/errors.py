"""The one error a service raises when a business rule refuses a request."""


class ServiceError(Exception):
    """A business rule refused the request; ``field`` names the input at fault, if any, and
    ``code`` is the machine-readable reason the API's error envelope carries."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
