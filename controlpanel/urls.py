from datetime import timedelta

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from health_check.views import HealthCheckView

admin.site.site_header = _("Exchange control panel — support")
admin.site.site_title = _("Exchange support")

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # For a load balancer or an orchestrator: 200 when the database, Redis and at least one
    # worker answer, 500 naming what does not.
    path(
        "health/",
        HealthCheckView.as_view(
            checks=[
                "health_check.checks.Database",
                "health_check.checks.Cache",
                ("health_check.contrib.celery.Ping", {"timeout": timedelta(seconds=2)}),
            ]
        ),
        name="health",
    ),
    path("api/1.0/", include("exchange_groups.api.urls")),
    path("", include("exchange_groups.urls")),
]
