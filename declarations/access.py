"""Who may see which declaration: the one place that answers it.

A filer sees its own organisations' declarations; officers (and supervisors) see every one.
Anything else is a 404, the same answer as for a declaration that does not exist.
"""

from django.http import Http404

from clearance.models import Organisation, Role, User
from declarations.models import Declaration, Document


def organisations_of(user: User) -> list[int]:
    return list(user.memberships.values_list("organisation_id", flat=True))


def is_officer(user: User) -> bool:
    """An officer or supervisor who passed the second factor in this session."""
    verified = getattr(user, "is_verified", None)
    return user.has_role(Role.OFFICER, Role.SUPERVISOR) and bool(verified and verified())


def declaration_for_organisation(organisation: Organisation, pk: int) -> Declaration:
    """For API clients: a declaration of the key's organisation, or 404."""
    found = Declaration.objects.filter(organisation=organisation, pk=pk).first()
    if found is None:
        raise Http404
    return found


def declaration_for_user(user: User, pk: int, *, officers: bool = False) -> Declaration:
    """For people: a declaration of one of their organisations (or any, for an officer where
    ``officers`` allows it), or 404."""
    queryset = Declaration.objects.select_related("organisation")
    if not (officers and is_officer(user)):
        queryset = queryset.filter(organisation_id__in=organisations_of(user))
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def document_for_user(user: User, pk: int) -> Document:
    """A document is served to its declaration's filer and to officers; to others, 404."""
    found = Document.objects.select_related("declaration").filter(pk=pk).first()
    if found is None:
        raise Http404
    declaration_for_user(user, found.declaration_id, officers=True)
    return found
