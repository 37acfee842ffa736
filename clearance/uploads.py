"""One check for every file a person uploads: declaration documents, refund evidence and comment
attachments. The size is checked against the caller's limit, and the type is read from the
file's first bytes, never from its name or the browser's word for it.
"""

import hashlib
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from clearance.errors import ServiceError

SIGNATURES = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)
DOCUMENT_TYPES = ("pdf", "jpeg", "png")


def sniff(head: bytes) -> str | None:
    """The file type a file's first bytes show, or None."""
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


def check_upload(
    upload: Any,
    *,
    field: str,
    max_bytes: int,
    types: tuple[str, ...] = DOCUMENT_TYPES,
    too_large: str | Promise = "",
) -> str:
    """The upload's type (``pdf``, ``jpeg`` or ``png``) when it is within ``max_bytes`` and of one
    of ``types``; otherwise a ``ServiceError`` on ``field`` that says which rule it breaks
    (code ``too_large``, or ``not_pdf`` / ``file_type``). ``too_large`` words the size refusal
    for the page's own name of the file ("The attachment is larger than %(mb)s MB.")."""
    if upload.size is None or upload.size > max_bytes:
        raise ServiceError(
            str(too_large or _("The file is larger than %(mb)s MB."))
            % {"mb": megabytes(max_bytes)},
            field=field,
            code="too_large",
        )
    upload.seek(0)
    found = sniff(upload.read(16))
    upload.seek(0)
    if found is None or found not in types:
        if types == ("pdf",):
            raise ServiceError(_("Attach a PDF file."), field=field, code="not_pdf")
        raise ServiceError(
            _("Upload a PDF, JPEG or PNG file; this file is none of these."),
            field=field,
            code="file_type",
        )
    return found


def megabytes(size: int) -> str:
    """``10`` for 10 MiB, ``2.5`` for 2.5 MiB: whole numbers without a decimal point."""
    mb = round(size / 1024 / 1024, 1)
    return str(int(mb)) if mb == int(mb) else str(mb)


def file_fingerprint(upload: Any) -> dict[str, Any]:
    """What an idempotency record compares for an uploaded file: its name, size and SHA-256
    (read in chunks, the file left at its start). Two files of one name differ by content."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return {"name": upload.name, "size": upload.size, "sha256": digest.hexdigest()}
