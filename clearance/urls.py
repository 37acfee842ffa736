"""The project's URLs: the one place, beside celery.py, that gathers every app."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from django_otp.admin import OTPAdminSite

from clearance import estimator, views
from clearance.forms import QueuedPasswordResetForm, SignInForm
from publications import api_urls as publications_api
from publications import feeds as publications_feeds
from publications import views as publications_views

# The admin site asks for the second factor like every other staff page.
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
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
    path("publications/", include("publications.urls")),
    path("search/", publications_views.search, name="search"),
    path("feeds/consultations/", publications_feeds.ConsultationsFeed(), name="consultations_feed"),
    path("api/v1/publications/", include(publications_api.publications)),
    path("api/v1/consultations/", include(publications_api.consultations)),
    path("declarations/", include("declarations.urls")),
    path("", include("refunds.urls")),
    path("api/v1/", include("refunds.api_urls")),
    path("api/v1/", include("declarations.api_urls")),
    path("admin/", admin.site.urls),
]
