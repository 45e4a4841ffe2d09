"""Pages for the public register (no sign-in) and the staff publication page (included by
``declarations/urls.py`` at ``/declarations/public/``)."""

from django.urls import URLPattern, path, re_path

from probity.declarations.publication import views

urlpatterns: list[URLPattern] = [
    path("", views.public_register, name="public_register"),
    re_path(r"^export\.(?P<fmt>json|csv)$", views.public_export, name="public_export"),
    path("<int:declaration_id>/", views.public_declaration, name="public_declaration"),
    re_path(
        r"^(?P<declaration_id>[0-9]+)\.(?P<fmt>json|csv)$",
        views.public_declaration_download,
        name="public_declaration_download",
    ),
    path("manage/", views.publication_manage, name="publication_manage"),
    path("manage/publish/", views.publication_publish, name="publication_publish"),
    path("manage/profiles/new/", views.publication_profile, name="publication_profile_new"),
    path("manage/profiles/<str:name>/", views.publication_profile, name="publication_profile"),
    path("manage/<int:declaration_id>/withdraw/", views.publication_withdraw, name="publication_withdraw"),
]
