"""Who may see which payment, statement and refund: the one place that answers it.

A seller or platform sees its own organisations' records; officers and supervisors see every
refund. Anything else is a 404, the same answer as for a record that does not exist.
"""

from django.http import Http404

from clearance.models import Organisation, User
from declarations.access import is_officer, organisations_of
from refunds.models import Payment, Refund, RefundEvidence, Statement


def payment_for_user(user: User, pk: int) -> Payment:
    found = Payment.objects.filter(organisation_id__in=organisations_of(user), pk=pk).first()
    if found is None:
        raise Http404
    return found


def statement_for_user(user: User, pk: int) -> Statement:
    found = Statement.objects.filter(organisation_id__in=organisations_of(user), pk=pk).first()
    if found is None:
        raise Http404
    return found


def refund_for_user(user: User, pk: int, *, officers: bool = False) -> Refund:
    queryset = Refund.objects.select_related("declaration", "organisation")
    if not (officers and is_officer(user)):
        queryset = queryset.filter(organisation_id__in=organisations_of(user))
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def evidence_for_user(user: User, pk: int) -> RefundEvidence:
    found = RefundEvidence.objects.filter(pk=pk).first()
    if found is None:
        raise Http404
    refund_for_user(user, found.refund_id, officers=True)
    return found


def payment_for_organisation(organisation: Organisation, pk: int) -> Payment:
    found = Payment.objects.filter(organisation=organisation, pk=pk).first()
    if found is None:
        raise Http404
    return found


def statement_for_organisation(organisation: Organisation, pk: int) -> Statement:
    found = Statement.objects.filter(organisation=organisation, pk=pk).first()
    if found is None:
        raise Http404
    return found


def refund_for_organisation(organisation: Organisation, pk: int) -> Refund:
    found = Refund.objects.filter(organisation=organisation, pk=pk).first()
    if found is None:
        raise Http404
    return found
