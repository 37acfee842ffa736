"""What each PDF shows: template, context and language (the organisation owner's)."""

from typing import Any

from clearance.models import Organisation
from refunds.models import Payment, Refund, Statement
from refunds.providers import SandboxProvider

Document = tuple[str, dict[str, Any], str]


def _language(organisation: Organisation) -> str:
    return organisation.owner.language or "en"


def payment_receipt(payment: Payment) -> Document:
    organisation = Organisation.objects.select_related("owner").get(pk=payment.organisation_id)
    # A PDF is rendered without a request, so no context processor tells it about the sandbox.
    # The payment's own provider decides: a receipt rendered again after the portal moved to a
    # real provider still says that this payment moved no money, and the other way round.
    context: dict[str, Any] = {
        "payment": payment,
        "organisation": organisation,
        "payment_sandbox": payment.provider == SandboxProvider.name,
    }
    if payment.declaration_id is not None:
        declaration = payment.declaration
        assert declaration is not None
        version = declaration.latest_version
        assessment = version.assessment if version is not None else {}
        context["declaration"] = declaration
        context["assessment"] = assessment
        context["tax_collected_at_sale"] = any(
            reason.get("code") == "tax_collected_at_sale"
            for reason in assessment.get("reasons", [])
        )
    return "refunds/pdf/receipt.html", context, _language(organisation)


def refund_receipt(refund: Refund) -> Document:
    organisation = Organisation.objects.select_related("owner").get(pk=refund.organisation_id)
    context = {"refund": refund, "organisation": organisation, "declaration": refund.declaration}
    return "refunds/pdf/refund_receipt.html", context, _language(organisation)


def statement(statement: Statement) -> Document:
    organisation = Organisation.objects.select_related("owner").get(pk=statement.organisation_id)
    lines = statement.lines.select_related("declaration").order_by("id")
    context = {"statement": statement, "organisation": organisation, "lines": lines}
    return "refunds/pdf/statement.html", context, _language(organisation)
