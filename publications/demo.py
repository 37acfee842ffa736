"""Demo content for the public portal: texts for the low-value mode and two consultations.

``seed(editor=...)`` goes through the services, as an editor would, and skips what exists, so it
is safe to run again. The demo seeding command calls it.

The demo is a history: its first editions were published ``FIRST_EDITION_DAYS_AGO`` days ago
and have been in force since that day, recorded with ``version_publish(published_at=...)``,
the service's way to record a publication made earlier. Figures the portal enforces (the
returns period, the statement payment days, the thresholds) are placeholders that the
settings and the regime in force fill in (see ``publications.figures``); a proposal under
consultation states its own figure, since it is not enforced.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clearance.actors import stamped
from clearance.models import User
from publications import comments, consultations, publishing
from publications.models import Comment, Consultation, Publication, Theme, Topic, Version

TOPICS = [
    ("declaring", "Declaring parcels", "소포 신고"),
    ("thresholds", "Thresholds and duties", "면세 기준과 관세"),
    ("payments", "Payments and refunds", "납부와 환급"),
    ("returns", "Returns", "반품"),
    ("restricted", "Prohibited and restricted goods", "금지 및 제한 물품"),
    ("platforms", "Platforms and carriers", "플랫폼과 운송인"),
]

FIRST_EDITION_DAYS_AGO = 400

# slug, kind, topics, title, summary, body
TEXTS: list[tuple[str, str, list[str], str, str, str]] = [
    (
        "how-to-declare",
        "procedure",
        ["declaring"],
        "How to declare a low-value parcel",
        "Sellers can clear a low-value parcel alone, in the browser, in a few minutes.",
        """# Who may declare

Any seller registered on the portal, or a platform or carrier filing for its sellers.

# What you need

- the transport document number (air waybill or postal item number);
- for each item: a plain description, the HS code, quantity, value and currency, and origin;
- the buyer's name and address.

# Filing

1. Sign in and choose **New declaration**.
2. Enter the parcel and its items. Each error names the field and the rule.
3. Submit. The portal assesses duties and taxes at once and shows what is due.

# After filing

Most parcels are released within minutes. If an officer needs more information, you are
asked on the portal and by email.
""",
    ),
    (
        "de-minimis-threshold",
        "regulation",
        ["thresholds"],
        "Low-value threshold and what it covers",
        "Which shipments qualify for the low-value mode, and which duties and taxes still apply.",
        """# The threshold

A shipment whose customs value does not exceed the threshold in force on the day of arrival
is cleared in the low-value mode. The threshold is {{ threshold }}; for goods shipped from the
United States it is {{ threshold_us }}. The customs value is converted at the day's exchange
rate.

# What is exempt

Customs duty is not collected on qualifying shipments. Import taxes are not collected on
shipments valued up to {{ tax_threshold }} ({{ tax_threshold_us }} for goods shipped from the
United States).

# What is not exempt

Excise goods (alcohol, tobacco) and goods subject to prohibitions or restrictions never
qualify, whatever their value.

# Splitting shipments

Goods ordered together and split to stay under the threshold are assessed together.
""",
    ),
    (
        "returns-policy",
        "returns_policy",
        ["returns", "payments"],
        "Returns of goods imported in the low-value mode",
        "When duties and taxes paid on returned goods are refunded.",
        """# Scope

This policy covers goods returned by the buyer after release in the low-value mode.

# Refund of duties and taxes

Duties and taxes paid are refunded when the goods leave the economy within
{{ returns_period_days }} days of release, unused and in their original condition.

# How to ask

File a refund request on the portal with the declaration number and proof of export.
""",
    ),
    (
        "prohibited-restricted-goods",
        "special_requirement",
        ["restricted"],
        "Prohibited and restricted goods",
        "Goods that cannot be imported, or only with a licence or certificate.",
        """# Prohibited

Narcotics, counterfeit goods, weapons and their parts, and goods infringing copyright.

# Restricted

- medicines: a prescription or import licence;
- plants, seeds and food of animal origin: a phytosanitary or veterinary certificate;
- radio equipment: a conformity certificate.

# Consequences

A restricted good without its document is held. The seller is asked for the document first.
""",
    ),
    (
        "payment-methods",
        "procedure",
        ["payments"],
        "Paying duties and taxes",
        "The ways to pay what is due on a low-value parcel.",
        """# Methods

- card payment on the portal;
- bank transfer with the payment reference shown on the assessment;
- a deferred account for regular filers (see *Deferred payment accounts*).

# Receipts

Each payment produces a receipt that can be downloaded as PDF and verified by anyone.
""",
    ),
    (
        "refund-procedure",
        "procedure",
        ["payments", "returns"],
        "Refund procedure",
        "How to ask for a refund of duties and taxes, and how it is decided.",
        """# When you may ask

After release: goods returned (within {{ returns_period_days }} days of release), an
overpayment, or goods rejected at the border.

# Steps

1. Open the declaration and choose **Ask for a refund**.
2. Give the reason and attach the evidence.
3. An officer reviews the request; large refunds are approved by a supervisor.

# Payment

The refund is paid once, to the account that paid.
""",
    ),
    (
        "seller-training-guide",
        "training",
        ["declaring"],
        "Training guide for small sellers",
        "A step-by-step course for micro and small businesses shipping abroad.",
        """# Module 1: describing goods

Write what the item is, what it is made of and what it is for: "cotton T-shirt for men",
not "clothes".

# Module 2: finding the HS code

Search the tariff by words; check the heading notes.

# Module 3: values and currencies

Declare the price the buyer paid, in the invoice currency. Shipping is declared separately.

# Module 4: common errors

Missing origin, a value of zero for a gift, and a vague description cause most holds.
""",
    ),
    (
        "low-value-data-set",
        "guideline",
        ["declaring", "platforms"],
        "The low-value data set",
        "The small set of data elements asked of each party.",
        """# Seller

Seller name and address, item descriptions, values, currency.

# Platform

Order number, payment date, the seller's identifier on the platform.

# Carrier

Transport document, weight, route and arrival date.
""",
    ),
    (
        "platform-api-guide",
        "guideline",
        ["platforms"],
        "Filing by API: a guide for platforms and carriers",
        "Bulk filing, idempotency keys and webhooks.",
        """# Access

Each organisation gets an API key from its administrator on the portal.

# Filing

Post declarations with an `Idempotency-Key`; a retry returns the first result.

# Events

Every change you may see on a declaration or a refund is an event. Read them in order from
`/api/v1/events/`, starting again from the last cursor you kept.

# Webhooks

Add an endpoint on the portal's API keys page, or at `/api/v1/webhooks/`, and choose its event
types. Status changes are then sent to it, signed by the Standard Webhooks specification
(headers `webhook-id`, `webhook-timestamp`, `webhook-signature`); keep the secret shown when
you add the endpoint, and check every delivery with it. Answer with any 2xx status; other
answers are retried for about 24 hours, after which the endpoint is disabled and you are told.
""",
    ),
    (
        "after-you-file",
        "guideline",
        ["declaring"],
        "What happens after you file",
        "Risk analysis, lanes and release.",
        """# Risk analysis

Every declaration is scored automatically; each rule that applies gives a plain reason.

# Lanes

Green parcels are released at once; yellow ones get a document check; red ones are inspected.

# Release notice

A release notice with a verification code is issued as PDF.
""",
    ),
    (
        "faq-sellers",
        "faq",
        ["declaring", "payments"],
        "Questions sellers ask",
        "Short answers to the questions we hear most.",
        """# Do I need a customs broker?

No. The low-value mode is designed for sellers to file alone.

# How long does clearance take?

Most parcels are released within minutes of filing.

# Can I correct a declaration?

Yes, before release. After release, ask for an amendment or a refund.
""",
    ),
    (
        "customs-act-low-value",
        "law",
        ["thresholds"],
        "Customs Act: provisions on low-value shipments",
        "The statutory basis of the low-value mode.",
        """# Article 1: Purpose

To clear low-value shipments quickly while keeping control of risk and revenue.

# Article 2: Low-value mode

The administration may set a threshold below which a simplified declaration applies.

# Article 3: Publication

Rules for the low-value mode are published, and proposed changes are open for comment.
""",
    ),
    (
        "deferred-payment-accounts",
        "facilitation",
        ["payments", "platforms"],
        "Deferred payment accounts",
        "Regular filers pay monthly instead of per parcel.",
        """# Who qualifies

Platforms, carriers and sellers with a compliant filing history and a guarantee.

# How it works

Parcels are released at once; duties and taxes are collected on a monthly statement. Each
month's statement is issued early in the next month and is due {{ statement_payment_days }}
days after it is issued.
""",
    ),
    (
        "trusted-trader",
        "facilitation",
        ["platforms"],
        "Trusted trader facilitation",
        "Fewer checks for filers with a record of accurate declarations.",
        """# Benefits

A lower inspection rate and priority handling of information requests.

# Conditions

Twelve months of accurate filing and no serious offence.
""",
    ),
    (
        "batteries-dangerous-goods",
        "special_requirement",
        ["restricted"],
        "Lithium batteries and dangerous goods",
        "Packing and labelling rules for batteries in parcels.",
        """# Batteries in equipment

Allowed when installed in the device and protected against short circuit.

# Loose batteries

Not accepted in low-value postal parcels.
""",
    ),
    (
        "verify-release-notice",
        "procedure",
        ["platforms"],
        "Verifying a release notice",
        "How carriers check that a release notice is genuine.",
        """# Verification

Enter the verification code printed on the notice on the public verification page, or scan
its QR code.
""",
    ),
]

KOREAN = {
    "how-to-declare": (
        "소액 소포 신고 방법",
        "판매자는 브라우저에서 몇 분 만에 직접 소액 소포를 통관할 수 있습니다.",
        """# 신고할 수 있는 사람

포털에 등록한 판매자, 또는 판매자를 대신하는 플랫폼이나 운송인.

# 필요한 정보

- 운송 서류 번호;
- 품목별 설명, HS 코드, 수량, 가격과 통화, 원산지;
- 구매자 이름과 주소.

# 신고 후

대부분의 소포는 몇 분 안에 반출됩니다.
""",
    ),
    "returns-policy": (
        "소액 수입 물품의 반품",
        "반품된 물품에 대해 납부한 관세와 세금이 환급되는 경우.",
        """# 범위

이 정책은 소액 통관으로 반출된 후 구매자가 반품한 물품에 적용됩니다.

# 관세 환급

반출 후 {{ returns_period_days }}일 이내에 사용하지 않은 원래 상태로 물품이 국외로 반송되면
납부한 관세와 세금을 환급합니다.
""",
    ),
}


def _topics() -> dict[str, Topic]:
    out = {}
    for slug, name, name_ko in TOPICS:
        out[slug] = Topic.objects.filter(slug=slug).first() or publishing.topic_create(
            slug=slug, name=name, name_ko=name_ko
        )
    return out


def seed(*, editor: User | None) -> int:
    """Create what is missing; returns how many publications were created."""
    created = 0
    first_published = timezone.now() - timedelta(days=FIRST_EDITION_DAYS_AGO)
    with transaction.atomic():
        topics = _topics()
        for slug, kind, topic_slugs, title, summary, body in TEXTS:
            if Publication.objects.filter(slug=slug).exists():
                continue
            pub = publishing.publication_create(
                slug=slug, kind=kind, topics=[topics[t] for t in topic_slugs], by=editor
            )
            first = publishing.version_create(
                publication=pub, language="en", title=title, summary=summary, body=body,
                by=editor, change_note="First edition",
            )  # fmt: skip
            _publish_first_edition(first, first_published, editor)
            if slug in KOREAN:
                ko_title, ko_summary, ko_body = KOREAN[slug]
                ko = publishing.version_create(
                    publication=pub, language="ko", title=ko_title, summary=ko_summary,
                    body=ko_body, by=editor, change_note="첫 판",
                )  # fmt: skip
                _publish_first_edition(ko, first_published, editor)
            created += 1
        if created:
            _closed_consultation(editor)
            _open_consultation(editor)
    return created


def _publish_first_edition(version: Version, when: datetime, editor: User | None) -> None:
    """Published back then, and in force from that day."""
    publishing.version_publish(
        version=version,
        effective_date=timezone.localdate(when),
        published_at=when,
        by=editor,
    )


def _closed_consultation(editor: User | None) -> None:
    """The threshold consultation: open for 60 days, closed 60 days ago and answered; its
    final text was published 15 days after the close and is in force since the end of the
    lead time."""
    pub = Publication.objects.get(slug="de-minimis-threshold")
    current = pub.versions.current().get(language="en")
    draft = publishing.version_create(
        publication=pub, language="en", title=current.title, summary=current.summary,
        body=current.body + "\n# Review\n\nThe threshold is reviewed every two years.\n",
        by=editor, change_kind="major", change_note="Adds a review every two years",
    )  # fmt: skip
    now = timezone.now()
    consultation = consultations.consultation_create(
        version=draft,
        title="Reviewing the low-value threshold every two years",
        summary="We proposed to review the threshold every two years against inflation.",
        questions="Is two years the right interval?\nWhich price index should be used?",
        opens_at=now - timedelta(days=120),
        closes_at=now - timedelta(days=60),
        by=editor,
    )
    theme = consultations.theme_create(
        consultation=consultation, title="Review interval", by=editor
    )
    consultations.theme_answer(
        theme=theme,
        answer="Most comments supported two years; we keep it and publish the index used.",
        by=editor,
    )
    for name, organisation, text in [
        ("Lee Min-jun", "", "Two years is right; yearly changes would confuse small sellers."),
        ("Ana Cruz", "Pacific Sellers Association", "Please name the price index in the rule."),
    ]:
        _past_comment(
            consultation, name=name, organisation=organisation, text=text, theme=theme,
            when=now - timedelta(days=90), editor=editor,
        )  # fmt: skip
    consultations.consultation_set_response(
        consultation=consultation,
        response="Thank you for your comments. The final rule keeps a **two-year** review.",
        by=editor,
    )
    publishing.version_publish(
        version=draft,
        effective_date=consultation.earliest_effective_date(),
        published_at=consultation.closes_at + timedelta(days=15),
        by=editor,
    )


def proposed_returns_period() -> int:
    """The returns period the demo consultation proposes: a year, or longer than the period
    in force if that is already a year or more, so that the proposal is an extension."""
    return max(365, settings.REFUND_RETURN_PERIOD_DAYS + 90)


def _open_consultation(editor: User | None) -> None:
    """The returns consultation: open for another 25 days, with a few comments.

    The draft states the proposed period as a number where the text in force names the
    setting: a proposal is not enforced, and the diff shows the change against the period in
    force.
    """
    pub = Publication.objects.get(slug="returns-policy")
    current = pub.versions.current().get(language="en")
    days = proposed_returns_period()
    proposed = current.body.replace("{{ returns_period_days }} days", f"{days} days")
    assert proposed != current.body, "the returns policy names its period"
    proposed += (
        "\n# Proof of export\n\n"
        "A carrier's tracking record that shows delivery abroad counts as proof of export.\n"
    )
    draft = publishing.version_create(
        publication=pub, language="en", title=current.title, summary=current.summary,
        body=proposed, by=editor, change_note="Longer period for returns",
    )  # fmt: skip
    now = timezone.now()
    consultation = consultations.consultation_create(
        version=draft,
        title=f"Extending the returns period to {days} days",
        summary=(
            f"We propose to refund duties on goods returned within {days} days of release, "
            "instead of the period in force, and to accept a carrier's tracking record as "
            "proof of export."
        ),
        questions=f"Is {days} days the right period?\nWhat proof of export should count?",
        opens_at=now - timedelta(days=5),
        closes_at=now + timedelta(days=25),
        by=editor,
    )
    assert consultation.status == Consultation.Status.OPEN
    samples = [
        ("Kim Seo-yeon", "section-2", "A longer period would let buyers abroad return by post."),
        ("Tom Baker", "", "Please accept a carrier's tracking record as proof of export."),
    ]
    for name, section, text in samples:
        _past_comment(consultation, name=name, text=text, section=section, when=now, editor=editor)


def _past_comment(
    consultation: Consultation,
    *,
    name: str,
    text: str,
    when: datetime,
    editor: User | None,
    organisation: str = "",
    section: str = "",
    theme: Theme | None = None,
) -> Comment:
    """A comment already confirmed and approved, as the demo's history needs.

    Loaded directly: the submission services refuse a consultation that is not open, and
    these stand for comments that went through that flow in the past.
    """
    comment = Comment(
        consultation=consultation,
        tracking_number=comments.tracking_number(),
        section=section,
        body=text,
        name=name,
        email="demo-commenter@example.test",
        on_behalf=Comment.OnBehalf.ORGANISATION if organisation else Comment.OnBehalf.INDIVIDUAL,
        organisation_name=organisation,
        status=Comment.Status.PUBLISHED,
        fingerprint=comments.fingerprint(text),
        theme=theme,
        created_at=when,
        confirmed_at=when,
        moderated_at=when,
        moderated_by=editor,
    )
    stamped(comment, editor).save()
    return comment


def seed_demo(people: Mapping[str, Any]) -> str:
    """Called by ``manage.py seed_demo`` with the demo organisations and staff by role."""
    created = seed(editor=people.get("editor"))
    return f"{created} texts created"
