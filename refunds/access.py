"""Who may see which payment, statement and refund: the one place that answers it.

A seller or platform sees its own organisations' records; officers and supervisors see every
refund. Anything else is a 404, the same answer as for a record that does not exist (the rules
are ``clearance.access.owned_or_404``).
"""

from clearance.access import found_or_404, owned_or_404
from clearance.models import Organisation, User
from refunds.models import Payment, Refund, RefundEvidence, Statement


def payment_for_user(user: User, pk: int) -> Payment:
    return owned_or_404(Payment.objects.all(), pk, user=user)


def statement_for_user(user: User, pk: int) -> Statement:
    return owned_or_404(Statement.objects.all(), pk, user=user)


def refund_for_user(user: User, pk: int, *, officers: bool = False) -> Refund:
    queryset = Refund.objects.select_related("declaration", "organisation")
    return owned_or_404(queryset, pk, user=user, officers=officers)


def evidence_for_user(user: User, pk: int) -> RefundEvidence:
    found = found_or_404(RefundEvidence.objects.all(), pk=pk)
    refund_for_user(user, found.refund_id, officers=True)
    return found


def payment_for_organisation(organisation: Organisation, pk: int) -> Payment:
    return owned_or_404(Payment.objects.all(), pk, organisation=organisation)


def statement_for_organisation(organisation: Organisation, pk: int) -> Statement:
    return owned_or_404(Statement.objects.all(), pk, organisation=organisation)


def refund_for_organisation(organisation: Organisation, pk: int) -> Refund:
    return owned_or_404(Refund.objects.all(), pk, organisation=organisation)
