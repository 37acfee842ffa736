"""PDF documents (release notices, receipts, statements) from HTML templates and print CSS.

Rendering takes tens of milliseconds to seconds, so it belongs in a Celery task, never in a
request. Templates extend ``pdf/base.html``; fonts come from the system (DejaVu, and Noto CJK
for Korean, Japanese and Chinese text).
"""

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation


def render_pdf(template_name: str, context: dict[str, Any], *, language: str = "en") -> bytes:
    # WeasyPrint loads Pango when imported: only the processes that render PDFs pay for it.
    from weasyprint import HTML

    context = {
        "portal_name": settings.PORTAL_NAME,
        "portal_administration": settings.PORTAL_ADMINISTRATION,
        "site_url": settings.SITE_URL,
        **context,
    }
    with translation.override(language):
        html = render_to_string(template_name, context)
    pdf: bytes = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
    return pdf
