"""Who may see which declaration: the one place that answers it.

A filer sees its own organisations' declarations; officers (and supervisors) see every one.
Anything else is a 404, the same answer as for a declaration that does not exist (the rules are
``clearance.access.owned_or_404``).
"""

from django.http import Http404

from clearance.access import found_or_404, owned_or_404
from clearance.models import Membership, Organisation, User
from declarations.models import CsvUpload, Declaration, Document


def declaration_for_organisation(organisation: Organisation, pk: int) -> Declaration:
    """For API clients: a declaration of the key's organisation, or 404."""
    return owned_or_404(Declaration.objects.all(), pk, organisation=organisation)


def declaration_for_user(user: User, pk: int, *, officers: bool = False) -> Declaration:
    """For people: a declaration of one of their organisations (or any, for an officer where
    ``officers`` allows it), or 404."""
    queryset = Declaration.objects.select_related("organisation")
    return owned_or_404(queryset, pk, user=user, officers=officers)


def document_for_user(user: User, pk: int) -> Document:
    """A document is served to its declaration's filer and to officers; to others, 404."""
    found = found_or_404(Document.objects.select_related("declaration"), pk=pk)
    declaration_for_user(user, found.declaration_id, officers=True)
    return found


def upload_for_user(user: User, pk: int) -> CsvUpload:
    """A CSV file of one of the user's organisations, or 404."""
    return owned_or_404(CsvUpload.objects.all(), pk, user=user)


def upload_for_organisation(organisation: Organisation, pk: int) -> CsvUpload:
    """For API clients: a CSV file of the key's organisation, or 404."""
    return owned_or_404(CsvUpload.objects.all(), pk, organisation=organisation)


def owned_organisation(user: User) -> Organisation:
    """The organisation whose API keys and webhook endpoints the user manages: the first one
    they own, by name; a 404 for someone who owns none."""
    membership = (
        user.memberships.select_related("organisation")
        .filter(role=Membership.Role.OWNER)
        .order_by("organisation__name")
        .first()
    )
    if membership is None:
        raise Http404
    return membership.organisation
