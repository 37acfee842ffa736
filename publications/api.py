"""The open-data API: read-only, no key, throttled per address. Published material only."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from rest_framework import generics, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, BaseThrottle

from publications.models import Comment, Consultation, Publication, Version

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass


class OpenDataThrottle(AnonRateThrottle):
    scope = "open_data"

    def get_rate(self) -> str:
        return settings.OPEN_DATA_API_RATE

    def get_cache_key(self, request: Request, view: Any) -> str:
        # Everyone counts by address here, signed in or not: the API takes no credentials.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class OpenData:
    authentication_classes: Sequence[type[BaseAuthentication]] = []
    permission_classes: Sequence["_PermissionClass"] = [AllowAny]
    throttle_classes: Sequence[type[BaseThrottle]] = [OpenDataThrottle]


class VersionSerializer(serializers.ModelSerializer[Version]):
    change_kind = serializers.CharField()
    # The text as the page states it: figures the portal enforces are filled in.
    body = serializers.CharField(source="filled_body")

    class Meta:
        model = Version
        fields = [
            "id", "number", "language", "title", "summary", "body", "status",
            "effective_date", "published_at", "change_kind", "change_note",
        ]  # fmt: skip


class PublicationSerializer(serializers.ModelSerializer[Publication]):
    topics = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()

    class Meta:
        model = Publication
        fields = ["slug", "kind", "topics", "current"]

    def get_topics(self, obj: Publication) -> list[str]:
        return [topic.slug for topic in obj.topics.all()]

    def get_current(self, obj: Publication) -> list[dict[str, Any]]:
        current = [v for v in obj.versions.all() if v.status == Version.Status.PUBLISHED]
        return [dict(VersionSerializer(v).data) for v in current]


class ConsultationSerializer(serializers.ModelSerializer[Consultation]):
    publication = serializers.CharField(source="version.publication.slug")
    version = serializers.IntegerField(source="version_id")
    final_version = serializers.IntegerField(source="final_version_id", allow_null=True)
    questions = serializers.ListField(source="question_list", child=serializers.CharField())
    published_comments = serializers.IntegerField()

    class Meta:
        model = Consultation
        fields = [
            "id", "title", "summary", "questions", "status", "opens_at", "closes_at",
            "publication", "version", "final_version", "response_html",
            "response_published_at", "published_comments",
        ]  # fmt: skip


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author = serializers.CharField(source="author_label")
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
    theme = serializers.CharField(source="theme.title", allow_null=True, default=None)

    class Meta:
        model = Comment
        fields = [
            "tracking_number", "section", "body", "author", "on_behalf", "created_at",
            "campaign", "theme",
        ]  # fmt: skip


def _public_publications() -> QuerySet[Publication]:
    return (
        Publication.objects.filter(versions__status=Version.Status.PUBLISHED)
        .distinct()
        .prefetch_related("topics", "versions")
        .order_by("slug")
    )


class PublicationList(OpenData, generics.ListAPIView[Publication]):
    serializer_class = PublicationSerializer

    def get_queryset(self) -> QuerySet[Publication]:
        return _public_publications()


class PublicationDetail(OpenData, generics.RetrieveAPIView[Publication]):
    serializer_class = PublicationSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Publication]:
        return _public_publications()


class VersionList(OpenData, generics.ListAPIView[Version]):
    """Every version that was ever published, so the text in force on any date can be rebuilt."""

    serializer_class = VersionSerializer

    def get_queryset(self) -> QuerySet[Version]:
        return (
            Version.objects.public()
            .filter(publication__slug=self.kwargs["slug"])
            .order_by("language", "number")
        )


def _public_consultations() -> QuerySet[Consultation]:
    return (
        Consultation.objects.exclude(status=Consultation.Status.UPCOMING)
        .select_related("version__publication")
        .annotate(published_comments=Count("comments", filter=Q(comments__status="published")))
        .order_by("-opens_at")
    )


class ConsultationList(OpenData, generics.ListAPIView[Consultation]):
    serializer_class = ConsultationSerializer

    def get_queryset(self) -> QuerySet[Consultation]:
        return _public_consultations()


class ConsultationDetail(OpenData, generics.RetrieveAPIView[Consultation]):
    serializer_class = ConsultationSerializer

    def get_queryset(self) -> QuerySet[Consultation]:
        return _public_consultations()


class CommentList(OpenData, generics.ListAPIView[Comment]):
    serializer_class = CommentSerializer

    def get_queryset(self) -> QuerySet[Comment]:
        return (
            Comment.objects.published()
            .filter(consultation_id=self.kwargs["pk"])
            .exclude(consultation__status=Consultation.Status.UPCOMING)
            .select_related("theme")
            .order_by("pk")
        )
