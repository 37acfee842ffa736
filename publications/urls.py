from django.urls import path

from publications import feeds, views

app_name = "publications"

urlpatterns = [
    path("", views.index, name="index"),
    path("consultations/", views.consultations, name="consultations"),
    path("consultations/<int:pk>/", views.consultation, name="consultation"),
    path("consultations/<int:pk>/comment/", views.comment, name="comment"),
    path(
        "consultations/<int:pk>/comment/submitted/",
        views.comment_submitted,
        name="comment_submitted",
    ),
    path("comments/confirm/<str:token>/", views.comment_confirm, name="comment_confirm"),
    path("comments/<str:tracking_number>/flag/", views.comment_flag, name="comment_flag"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path(
        "subscriptions/confirm/<str:token>/",
        views.subscription_confirm,
        name="subscription_confirm",
    ),
    path("subscriptions/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("topics/<slug:slug>/feed/", feeds.TopicFeed(), name="topic_feed"),
    path("editor/", views.moderation, name="moderation"),
    path("editor/texts/", views.editor_texts, name="editor_texts"),
    path("editor/texts/<slug:slug>/", views.editor_text, name="editor_text"),
    path("editor/consultations/<int:pk>/", views.editor_consultation, name="editor_consultation"),
    path(
        "editor/consultations/<int:pk>/comments.csv",
        views.export_comments,
        name="export_comments",
    ),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/history/", views.history, name="history"),
    path("<slug:slug>/diff/", views.diff, name="diff"),
    path("<slug:slug>/versions/<int:pk>/", views.version_detail, name="version"),
]
