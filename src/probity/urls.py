"""URL map: the language switch, the admin site (behind the second factor), the API, and every installed
module's pages under the prefix its ``AppConfig`` declares (``ModuleConfig.url_prefix``)."""

from typing import Any

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django_otp.admin import OTPAdminSite

from probity.api import api
from probity.core.modules import url_includes

admin.site.__class__ = OTPAdminSite  # the admin site demands a verified second factor too
admin.site.site_header = "Probity"


def build_urlpatterns(api: Any) -> list[URLPattern | URLResolver]:
    """The project's URL patterns around ``api`` (the assembled NinjaAPI)."""
    return [
        path("i18n/", include("django.conf.urls.i18n")),
        path("admin/", admin.site.urls),
        path("api/v1/", api.urls),
        *(path(prefix, include(module_urls)) for prefix, module_urls in url_includes()),
    ]


urlpatterns = build_urlpatterns(api)
