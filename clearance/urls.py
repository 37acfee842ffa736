"""The project's URLs: the one place, beside celery.py, that gathers every app."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from django_otp.admin import OTPAdminSite

from clearance import api_changes, enrolment, estimator, views
from clearance.forms import QueuedPasswordResetForm, SignInForm
from clearance.review import views as review_views
from clearance.risk import views as risk_views
from publications import api_urls as publications_api
from publications import feeds as publications_feeds
from publications import views as publications_views

# An address no route matches: the error envelope under /api/, the page elsewhere.
handler404 = views.not_found

# The admin site asks for the second factor like every other staff page.
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin site, JSON answers).
    path("favicon.ico", RedirectView.as_view(url=settings.STATIC_URL + "clearance/favicon.svg")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path(
        "account/login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm),
        name="login",
    ),
    path("account/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/register/", views.register, name="register"),
    path("account/verify/<str:token>/", views.verify_email, name="verify_email"),
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path("account/two-factor/enrol/<str:token>/", enrolment.enrol, name="two_factor_enrol"),
    path(
        "account/password-reset/",
        auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path(
        "account/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "account/password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_mark_read, name="notifications_mark_read"),
    path("staff/", views.staff_home, name="staff_home"),
    path("estimate/", estimator.estimate_page, name="estimate"),
    path("staff/regimes/", estimator.regime_list, name="regime_list"),
    path("api/v1/estimate/", estimator.EstimateView.as_view(), name="api_estimate"),
    path("api/changelog/", api_changes.changelog, name="api_changelog"),
    path("publications/", include("publications.urls")),
    path("search/", publications_views.search, name="search"),
    path("feeds/consultations/", publications_feeds.ConsultationsFeed(), name="consultations_feed"),
    path("api/v1/publications/", include(publications_api.publications)),
    path("api/v1/consultations/", include(publications_api.consultations)),
    path("staff/risk/rules/", risk_views.rule_list, name="risk_rules"),
    path("staff/risk/rules/new/", risk_views.rule_edit, name="risk_rule_new"),
    path("staff/risk/rules/<int:pk>/", risk_views.rule_edit, name="risk_rule"),
    path("staff/risk/lanes/", risk_views.risk_settings, name="risk_settings"),
    path("staff/review/", review_views.queue, name="review_queue"),
    path("staff/review/held/", review_views.held, name="review_held"),
    path("staff/review/<int:pk>/", review_views.case, name="review_case"),
    path("staff/review/<int:pk>/claim/", review_views.case_claim, name="review_claim"),
    path("staff/review/<int:pk>/unclaim/", review_views.case_unclaim, name="review_unclaim"),
    path("staff/review/<int:pk>/ask/", review_views.case_request_info, name="review_ask"),
    path(
        "staff/review/<int:pk>/inspection/", review_views.case_inspection, name="review_inspection"
    ),
    path("staff/review/<int:pk>/<str:action>/", review_views.case_decide, name="review_decide"),
    path(
        "staff/decisions/<int:pk>/reverse/",
        review_views.decision_reverse,
        name="review_reverse",
    ),
    path("declarations/<int:pk>/information/", review_views.info_answer, name="info_answer"),
    path(
        "declarations/<int:pk>/release-notice.pdf",
        review_views.release_notice,
        name="release_notice",
    ),
    path("verify/<str:code>", review_views.verify, name="verify_release"),
    path("track/", include("declarations.tracking")),
    path(
        "api/v1/declarations/<int:pk>/information/",
        review_views.InfoRequestApiView.as_view(),
        name="api-declaration-information",
    ),
    path("declarations/", include("declarations.urls")),
    path("", include("refunds.urls")),
    path("api/v1/", include("refunds.api_urls")),
    path("api/v1/", include("declarations.api_urls")),
    path("admin/", admin.site.urls),
]
