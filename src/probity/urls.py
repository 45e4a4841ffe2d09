"""URL map: the web UI, the admin site (behind the second factor), the API and the language switch."""

from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from probity.api import api

admin.site.__class__ = OTPAdminSite  # the admin site demands a verified second factor too
admin.site.site_header = "Probity"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("warehouse/", include("probity.warehouse.urls")),
    path("procurement/", include("probity.procurement.urls")),
    path("ownership/", include("probity.ownership.urls")),
    path("entities/", include("probity.entities.urls")),
    path("reporting/", include("probity.reporting.urls")),
    path("declarations/", include("probity.declarations.urls")),
    path("", include("probity.core.urls")),
]
