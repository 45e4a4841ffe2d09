"""URLs of the work pages of cases. A case's address is its reference (``/cases/CASE-2026-000001/``): it starts
with a capital letter and has a dash, so it never collides with the lower-case pages of ``urls_manage``."""

from __future__ import annotations

from django.urls import path, re_path

from probity.cases import views

REFERENCE = r"(?P<reference>[A-Z][A-Z0-9]*(?:-[A-Za-z0-9]+)+)"

urlpatterns = [
    path("", views.my_work, name="my_work"),
    path("all/", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("promote/", views.promote, name="promote"),
    re_path(rf"^{REFERENCE}/$", views.case_detail, name="detail"),
    re_path(rf"^{REFERENCE}/documents/(?P<pk>[0-9]+)/$", views.document_download, name="document"),
    re_path(rf"^{REFERENCE}/tasks/(?P<pk>[0-9]+)/done/$", views.task_done, name="task_done"),
    re_path(rf"^{REFERENCE}/(?P<action>[a-z]+)/$", views.case_action, name="action"),
]
