"""Officer review: claiming cases, asking the filer for information, and deciding.

Every decision is a ``Decision`` row (who, when, what, why) written in the same transaction as
the declaration's move, which goes through the declarations services with the officer as
actor. Only a supervisor reverses a decision. Side effects (the filer's notification, the
release notice PDF) are queued after commit.
"""

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clearance.actors import Actor, stamped
from clearance.errors import ServiceError
from clearance.models import Organisation, Role, User
from clearance.queue import enqueue_on_commit
from clearance.review import release
from clearance.review.models import Decision, InfoRequest, ReviewCase
from clearance.services import notify
from clearance.workflow import lock_rows
from declarations.models import Declaration, Status
from declarations.selectors import declaration_data
from declarations.services import (
    declaration_amend,
    declaration_transition,
    document_add,
    lock,
)

A = Decision.Action

# --- Cases ----------------------------------------------------------------------------------


def lock_case(declaration_id: int) -> ReviewCase | None:
    """The declaration's review case, locked; None when it has none."""
    return lock_rows(ReviewCase.objects.filter(declaration_id=declaration_id)).first()


def lock_open_request(declaration_id: int) -> InfoRequest | None:
    """The question waiting for the filer's answer, locked; None when none waits."""
    waiting = InfoRequest.objects.filter(declaration_id=declaration_id, answered_at__isnull=True)
    return lock_rows(waiting).first()


def _lock_case(declaration_id: int) -> ReviewCase:
    found = lock_case(declaration_id)
    if found is None:
        raise ServiceError(_("This declaration is not in a review queue."), code="no_case")
    return found


def case_claim(*, case: ReviewCase, by: User) -> ReviewCase:
    """Take a case to work on it. A case someone else holds cannot be taken."""
    with transaction.atomic():
        lock(case.declaration_id)
        locked = _lock_case(case.declaration_id)
        if locked.closed_at is not None:
            raise ServiceError(_("This case is closed."), code="closed")
        if locked.claimed_by_id not in (None, by.pk):
            raise ServiceError(_("Another officer holds this case."), code="claimed")
        locked.claimed_by = by
        locked.claimed_at = timezone.now()
        stamped(locked, by).save()
    return locked


def case_unclaim(*, case: ReviewCase, by: User) -> ReviewCase:
    """Put a case back in its queue: its holder, or a supervisor, may."""
    with transaction.atomic():
        lock(case.declaration_id)
        locked = _lock_case(case.declaration_id)
        if locked.claimed_by_id != by.pk and not by.has_role(Role.SUPERVISOR):
            raise ServiceError(_("Only the officer who holds this case can release it."))
        locked.claimed_by = None
        locked.claimed_at = None
        stamped(locked, by).save()
    return locked


def _holder_check(declaration: Declaration, by: User) -> ReviewCase:
    case = _lock_case(declaration.pk)
    if case.claimed_by_id != by.pk:
        raise ServiceError(_("Claim the case before acting on it."), code="not_claimed")
    return case


def _decide(
    declaration: Declaration, action: str, reason: str, by: User, reverses: Decision | None = None
) -> Decision:
    decision = Decision(
        declaration=declaration, action=action, reason=reason, by=by, reverses=reverses
    )
    stamped(decision, by).save()
    return decision


def _close(case: ReviewCase, by: User) -> None:
    case.closed_at = timezone.now()
    stamped(case, by).save()


def _tell_filer(declaration: Declaration, event: str, url: str = "", **context: Any) -> None:
    """Tell the filer's organisation of an officer's step on its declaration (in the portal
    and by email, after commit). The filer sees the status, never the officer's reasons."""
    notify(
        event=event,
        organisation=Organisation.objects.get(pk=declaration.organisation_id),
        context={
            "reference": declaration.system_reference,
            "your_reference": declaration.reference,
            **context,
        },
        url=url or f"/declarations/{declaration.pk}/",
    )


# --- Information requests -------------------------------------------------------------------


def info_request(
    *, declaration: Declaration, question: str, due_on: datetime.date, by: User
) -> InfoRequest:
    """Ask the filer a question; the filer's organisation is told, and the case waits."""
    question = question.strip()
    if not question:
        raise ServiceError(_("Write the question for the filer."), field="question")
    if due_on < timezone.localdate():
        raise ServiceError(_("The answer cannot be due in the past."), field="due_on")
    with transaction.atomic():
        locked = lock(declaration.pk)
        _holder_check(locked, by)
        declaration_transition(
            declaration=locked,
            leaving=Status.UNDER_REVIEW,
            to=Status.INFO_REQUESTED,
            actor=Actor(user=by),
        )
        request = InfoRequest(declaration=locked, question=question, due_on=due_on, asked_by=by)
        try:
            with transaction.atomic():
                stamped(request, by).save()
        except IntegrityError:
            raise ServiceError(_("A question is already waiting for an answer.")) from None
        _decide(locked, A.REQUEST_INFO, question, by)
        _tell_filer(
            locked,
            "information_requested",
            url=f"/declarations/{locked.pk}/information/",
            question=question,
            due_on=due_on.isoformat(),
        )
    return request


def open_request(declaration: Declaration) -> InfoRequest | None:
    return declaration.info_requests.filter(answered_at__isnull=True).first()


def info_answer(
    *, declaration: Declaration, answer: str, documents: Sequence[tuple[str, Any]], actor: Actor
) -> InfoRequest:
    """The filer answers with text and documents (``(kind, upload)`` pairs); the case goes back
    to its queue for any officer to pick up."""
    answer = answer.strip()
    if not answer:
        raise ServiceError(_("Write your answer."), field="answer")
    with transaction.atomic():
        locked = lock(declaration.pk)
        request = lock_open_request(locked.pk)
        if request is None or locked.status != Status.INFO_REQUESTED:
            raise ServiceError(_("No question is waiting for an answer."), code="no_request")
        for kind, upload in documents:
            document_add(declaration=locked, kind=kind, upload=upload, actor=actor)
        request.answer = answer
        request.answered_at = timezone.now()
        request.answered_by = actor.user
        actor.stamp(request).save()
        declaration_transition(
            declaration=locked,
            leaving=Status.INFO_REQUESTED,
            to=Status.UNDER_REVIEW,
            actor=actor,
            note=_("Answer sent"),
        )
        case = lock_case(locked.pk)
        if case is not None:
            case.claimed_by = None
            case.claimed_at = None
            actor.stamp(case).save()
    return request


# --- Decisions ------------------------------------------------------------------------------


def decision_release(*, declaration: Declaration, by: User, reason: str = "") -> Decision:
    """Clear the goods. With duty or tax still due they wait for payment (the payment releases
    them); with nothing due they are released now (``clearance.review.release``). A declaration that
    is not assessed, or that its filer amended since the case opened, is refused in words."""
    with transaction.atomic():
        locked = lock(declaration.pk)
        case = _holder_check(locked, by)
        version = locked.latest_version
        decision = _decide(locked, A.RELEASE, reason.strip(), by)
        _close(case, by)
        if version is not None and not version.held and version.total_due > 0:
            declaration_transition(
                declaration=locked,
                leaving=Status.UNDER_REVIEW,
                to=Status.AWAITING_PAYMENT,
                actor=Actor(user=by),
            )
            # Payments (another app, queued by name) release at once on a deferred account.
            enqueue_on_commit("refunds.release_settled", [locked.pk])
            _tell_filer(locked, "declaration_decided", status=str(Status.AWAITING_PAYMENT.label))
        else:
            release.declaration_release(
                declaration_id=locked.pk, leaving=Status.UNDER_REVIEW, actor=Actor(user=by)
            )
    return decision


def _refuse(declaration: Declaration, by: User, reason: str, action: str, to: str) -> Decision:
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Give the reason for this decision."), field="reason")
    with transaction.atomic():
        locked = lock(declaration.pk)
        case = _holder_check(locked, by)
        # The filer sees the status, not the officer's reason: it may name risk rules.
        # An officer decides while holding the case, also while a question waits for an answer.
        declaration_transition(
            declaration=locked,
            leaving=(Status.UNDER_REVIEW, Status.INFO_REQUESTED),
            to=to,
            actor=Actor(user=by),
        )
        decision = _decide(locked, action, reason, by)
        _close(case, by)
        _tell_filer(locked, "declaration_decided", status=str(Status(to).label))
    return decision


def decision_reject(*, declaration: Declaration, by: User, reason: str) -> Decision:
    return _refuse(declaration, by, reason, A.REJECT, Status.REJECTED)


def decision_seize(*, declaration: Declaration, by: User, reason: str) -> Decision:
    return _refuse(declaration, by, reason, A.SEIZE, Status.SEIZED)


def decision_refer(*, declaration: Declaration, by: User, agency: str) -> Decision:
    """Send the goods to another agency; the case stays open until it answers."""
    agency = agency.strip()
    if not agency:
        raise ServiceError(_("Name the agency."), field="reason")
    with transaction.atomic():
        locked = lock(declaration.pk)
        _holder_check(locked, by)
        return _decide(locked, A.REFER, agency, by)


CORRECTABLE = ("description", "hs_code", "quantity", "value", "gross_mass_kg", "origin_country")


def decision_inspection(
    *,
    declaration: Declaration,
    by: User,
    compliant: bool,
    note: str,
    corrections: Mapping[int, Mapping[str, str]] | None = None,
) -> Decision:
    """Record what a physical inspection found. Compliant goods are released. A discrepancy
    is recorded; with corrected line values (by line number) the declaration is amended by
    the officer and assessed again, and the case stays open for the officer's decision."""
    note = note.strip()
    if not compliant and not note:
        raise ServiceError(_("Describe the discrepancy."), field="note")
    with transaction.atomic():
        locked = lock(declaration.pk)
        _holder_check(locked, by)
        text = (_("Compliant.") + " " + note).strip() if compliant else note
        decision = _decide(locked, A.INSPECTION, text, by)
        if compliant:
            decision_release(declaration=locked, by=by, reason=_("Inspection: compliant."))
        elif corrections:
            _reassess(locked, corrections, by)
    return decision


def _reassess(
    declaration: Declaration, corrections: Mapping[int, Mapping[str, str]], by: User
) -> None:
    lines = list(declaration.lines.order_by("number"))
    data = declaration_data(declaration, lines)
    for number, values in corrections.items():
        if not 1 <= number <= len(data["lines"]):
            raise ServiceError(_("There is no line %(n)d.") % {"n": number}, field="lines")
        data["lines"][number - 1].update(
            {k: v.strip() for k, v in values.items() if k in CORRECTABLE and v.strip()}
        )
    lane = declaration.lane
    actor = Actor(user=by)
    amended = declaration_amend(declaration=declaration, data=data, actor=actor)
    # Back under review at once: the corrected version is the officer's, not the filer's, so
    # it is not scored again (scoring takes only declarations still submitted).
    declaration_transition(
        declaration=amended,
        leaving=Status.SUBMITTED,
        to=Status.UNDER_REVIEW,
        actor=actor,
        lane=lane or None,
    )


REVERSIBLE: dict[str, str | None] = {
    A.REJECT: Status.REJECTED,
    A.SEIZE: Status.SEIZED,
    A.REFER: None,
}


def decision_reverse(*, decision: Decision, by: User, reason: str) -> Decision:
    """A supervisor undoes a rejection, a seizure or a referral: the case is open again."""
    if not by.has_role(Role.SUPERVISOR):
        raise ServiceError(_("Only a supervisor can reverse a decision."), code="forbidden")
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Give the reason for the reversal."), field="reason")
    if decision.action not in REVERSIBLE:
        raise ServiceError(_("This decision cannot be reversed."), code="irreversible")
    with transaction.atomic():
        locked = lock(decision.declaration_id)
        if Decision.objects.filter(reverses=decision).exists():
            raise ServiceError(_("This decision is already reversed."), code="reversed")
        status = REVERSIBLE[decision.action]
        if status is not None:
            if locked.status != status:
                raise ServiceError(_("The declaration has moved on since this decision."))
            declaration_transition(
                declaration=locked, leaving=status, to=Status.UNDER_REVIEW, actor=Actor(user=by)
            )
            case = _lock_case(locked.pk)
            case.closed_at = None
            case.claimed_by = None
            case.claimed_at = None
            stamped(case, by).save()
        return _decide(locked, A.REVERSAL, reason, by, reverses=decision)


def release_notice_request(*, declaration: Declaration) -> None:
    """Issue a released declaration's notice if it has none, and have a worker render it."""
    if declaration.status != Status.RELEASED:
        raise ServiceError(_("Only a released declaration has a release notice."))
    with transaction.atomic():
        release.issue_release_notices([declaration.pk])
        release.queue_render([declaration.pk])
