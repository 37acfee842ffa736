"""Atom feeds: new versions per topic, and consultations."""

from datetime import datetime

from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from publications.models import Consultation, Topic, Version


class TopicFeed(Feed):  # type: ignore[type-arg]
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, slug: str) -> Topic:
        return get_object_or_404(Topic, slug=slug)

    def title(self, obj: Topic) -> str:
        return _("Publications on %(topic)s") % {"topic": obj.name}

    def link(self, obj: Topic) -> str:
        return obj.get_absolute_url()

    def subtitle(self, obj: Topic) -> str:
        return _("New and changed texts on this topic.")

    def items(self, obj: Topic) -> QuerySet[Version]:
        return (
            Version.objects.public()
            .filter(publication__topics=obj)
            .select_related("publication")
            .order_by("-published_at")[:50]
        )

    def item_title(self, item: Version) -> str:
        return item.title

    def item_description(self, item: Version) -> str:
        return item.change_note or item.summary

    def item_link(self, item: Version) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Version) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: Version) -> datetime | None:
        return item.published_at


class ConsultationsFeed(Feed):  # type: ignore[type-arg]
    feed_type = Atom1Feed

    def title(self) -> str:
        return _("Consultations")

    def link(self) -> str:
        return reverse("publications:consultations")

    def subtitle(self) -> str:
        return _("Proposed rules open for public comment, and their outcomes.")

    def items(self) -> QuerySet[Consultation]:
        return Consultation.objects.exclude(status=Consultation.Status.UPCOMING).order_by(
            "-opens_at"
        )[:50]

    def item_title(self, item: Consultation) -> str:
        return f"{item.title} ({item.get_status_display()})"

    def item_description(self, item: Consultation) -> str:
        return item.summary

    def item_link(self, item: Consultation) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Consultation) -> datetime:
        return item.opens_at
