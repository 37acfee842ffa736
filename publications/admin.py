"""Administrators may browse publications here; changes go through the editor pages and
services, which keep the history and the rules (lead time, moderation), so these are read-only.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from clearance.admin import ReadOnly
from publications.models import Comment, Consultation, Publication, Topic, Version


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["slug", "name", "name_ko"]
    prepopulated_fields = {"slug": ["name"]}


class ReadOnlyAdmin(ReadOnly, SimpleHistoryAdmin):  # type: ignore[misc]
    pass


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = ["slug", "kind", "created_at"]
    list_filter = ["kind", "topics"]
    search_fields = ["slug"]


@admin.register(Version)
class VersionAdmin(ReadOnlyAdmin):
    list_display = ["publication", "language", "number", "title", "status", "effective_date"]
    list_filter = ["status", "language"]
    search_fields = ["title", "publication__slug"]


@admin.register(Consultation)
class ConsultationAdmin(ReadOnlyAdmin):
    list_display = ["title", "status", "opens_at", "closes_at"]
    list_filter = ["status"]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["tracking_number", "consultation", "status", "flag_count", "created_at"]
    list_filter = ["status"]
    search_fields = ["tracking_number"]
