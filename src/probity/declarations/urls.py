from django.urls import include, path

from probity.declarations import views

app_name = "declarations"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:declaration_id>/", views.detail, name="detail"),
    path("file/", include("probity.declarations.filing_urls")),
    path("verification/", include("probity.declarations.verification_urls")),
    path("public/", include("probity.declarations.public_urls")),
]
