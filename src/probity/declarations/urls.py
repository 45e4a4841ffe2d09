"""The declarations pages (namespace ``declarations``): the list and one declaration here, and each area's
pages from its sub-package — e-filing at ``file/``, verification at ``verification/``, the public
register and publication at ``public/``."""

from django.urls import include, path

from probity.declarations import views

app_name = "declarations"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:declaration_id>/", views.detail, name="detail"),
    path("file/", include("probity.declarations.filing.urls")),
    path("verification/", include("probity.declarations.verification.urls")),
    path("public/", include("probity.declarations.publication.urls")),
]
