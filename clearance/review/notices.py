"""Release notices: a PDF with a verification code and its QR code, rendered by a worker.

A notice is issued (its code fixed) when an officer releases a declaration or when its filer
first asks for it; the worker renders the PDF once. ``/verify/CODE`` answers from the code.
"""

from datetime import timedelta

import segno
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clearance.pdf import render_pdf
from clearance.review.models import ReleaseNotice
from clearance.workflow import lock_row
from declarations.models import Declaration, Status

RENDER_AFTER = timedelta(minutes=2)


def verify_url(code: str) -> str:
    return settings.SITE_URL + reverse("verify_release", args=[code])


def render(declaration_id: int) -> None:
    """Render the notice's PDF if it has none yet (a second run finds it and stops)."""
    notice = (
        ReleaseNotice.objects.select_related("declaration", "declaration__organisation")
        .filter(declaration_id=declaration_id, declaration__status=Status.RELEASED)
        .first()
    )
    if notice is None or notice.file:
        return
    declaration: Declaration = notice.declaration
    version = declaration.latest_version
    url = verify_url(notice.code)
    pdf = render_pdf(
        "review/pdf/release_notice.html",
        {
            "notice": notice,
            "declaration": declaration,
            "data": version.data if version else {},
            "assessment": version.assessment if version else {},
            "verify_url": url,
            "qr": segno.make(url, error="m").svg_data_uri(scale=3),
        },
        language=declaration.organisation.owner.language,
    )
    with transaction.atomic():
        locked = lock_row(ReleaseNotice.objects.all(), pk=notice.pk)
        if locked.file:
            return
        locked.file.save(f"{declaration.system_reference}.pdf", ContentFile(pdf), save=True)


def missing() -> list[int]:
    """Declarations whose notice was issued minutes ago and has no PDF yet (a lost message)."""
    return list(
        ReleaseNotice.objects.filter(file="", issued_at__lt=timezone.now() - RENDER_AFTER)
        .values_list("declaration_id", flat=True)
        .order_by("declaration_id")[:500]
    )
