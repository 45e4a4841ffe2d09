"""Pages for the public register (no sign-in) and the staff publication page (included by ``urls.py``)."""

from django.urls import URLPattern, path, re_path

from probity.declarations import public_views

urlpatterns: list[URLPattern] = [
    path("", public_views.public_register, name="public_register"),
    re_path(r"^export\.(?P<fmt>json|csv)$", public_views.public_export, name="public_export"),
    path("<int:declaration_id>/", public_views.public_declaration, name="public_declaration"),
    re_path(
        r"^(?P<declaration_id>[0-9]+)\.(?P<fmt>json|csv)$",
        public_views.public_declaration_download,
        name="public_declaration_download",
    ),
    path("manage/", public_views.publication_manage, name="publication_manage"),
    path("manage/publish/", public_views.publication_publish, name="publication_publish"),
    path("manage/profiles/new/", public_views.publication_profile, name="publication_profile_new"),
    path("manage/profiles/<str:name>/", public_views.publication_profile, name="publication_profile"),
    path("manage/<int:declaration_id>/withdraw/", public_views.publication_withdraw, name="publication_withdraw"),
]
