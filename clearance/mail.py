"""Every message the portal writes is three templates, ``subject.txt``, ``body.txt`` and
``body.html``, in one folder, rendered in the reader's language. Notifications in the portal,
account emails and the public portal's emails all render and send through here."""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def render_message(template: str, context: dict[str, Any], language: str) -> tuple[str, str, str]:
    """Subject (on one line), text and HTML of ``template/``, in ``language``."""
    with translation.override(language):
        subject = render_to_string(f"{template}/subject.txt", context)
        text = render_to_string(f"{template}/body.txt", context)
        html = render_to_string(f"{template}/body.html", context)
    return " ".join(subject.split()), text, html


def send_templated_email(
    *, to: str, template: str, context: dict[str, Any], language: str, unsubscribe: str = ""
) -> None:
    """Render ``template/`` with the portal's name and address and send it by SMTP.

    With ``unsubscribe`` (a link), the message carries the one-click unsubscribe headers
    (RFC 8058) and the templates see the link as ``unsubscribe``.
    """
    context = {"portal_name": settings.PORTAL_NAME, "site_url": settings.SITE_URL, **context}
    headers = {}
    if unsubscribe:
        context["unsubscribe"] = unsubscribe
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    subject, text, html = render_message(template, context, language)
    message = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers
    )
    message.attach_alternative(html, "text/html")
    message.send()
