from django.urls import path

from publications import consultation_views, editor_views, feeds, subscription_views, views

app_name = "publications"

urlpatterns = [
    path("", views.index, name="index"),
    path("consultations/", consultation_views.consultations, name="consultations"),
    path("consultations/<int:pk>/", consultation_views.consultation, name="consultation"),
    path("consultations/<int:pk>/comment/", consultation_views.comment, name="comment"),
    path(
        "consultations/<int:pk>/comment/submitted/",
        consultation_views.comment_submitted,
        name="comment_submitted",
    ),
    path(
        "comments/confirm/<str:token>/", consultation_views.comment_confirm, name="comment_confirm"
    ),
    path(
        "comments/<str:tracking_number>/flag/", consultation_views.comment_flag, name="comment_flag"
    ),
    path("attachments/<int:pk>/", consultation_views.attachment, name="attachment"),
    path("subscribe/", subscription_views.subscribe, name="subscribe"),
    path(
        "subscriptions/confirm/<str:token>/",
        subscription_views.subscription_confirm,
        name="subscription_confirm",
    ),
    path(
        "subscriptions/unsubscribe/<str:token>/", subscription_views.unsubscribe, name="unsubscribe"
    ),
    path("topics/<slug:slug>/feed/", feeds.TopicFeed(), name="topic_feed"),
    path("editor/", editor_views.moderation, name="moderation"),
    path("editor/texts/", editor_views.editor_texts, name="editor_texts"),
    path("editor/texts/<slug:slug>/", editor_views.editor_text, name="editor_text"),
    path(
        "editor/consultations/<int:pk>/",
        editor_views.editor_consultation,
        name="editor_consultation",
    ),
    path(
        "editor/consultations/<int:pk>/comments.csv",
        editor_views.export_comments,
        name="export_comments",
    ),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/history/", views.history, name="history"),
    path("<slug:slug>/diff/", views.diff, name="diff"),
    path("<slug:slug>/versions/<int:pk>/", views.version_detail, name="version"),
]
