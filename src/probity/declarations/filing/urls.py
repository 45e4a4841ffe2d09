"""Pages for e-filing (included by ``declarations/urls.py`` at ``/declarations/file/``): the declarant's
own declarations and the multi-step form, and the administrators' deadlines and non-filer lists."""

from django.urls import URLPattern, path

from probity.declarations.filing import views

urlpatterns: list[URLPattern] = [
    path("", views.filing_home, name="filing_home"),
    path("start/", views.filing_start, name="filing_start"),
    path("<int:declaration_id>/step/<slug:step>/", views.filing_step, name="filing_step"),
    path("<int:declaration_id>/receipt/<int:number>/", views.filing_receipt, name="filing_receipt"),
    path("deadlines/", views.deadlines, name="deadlines"),
    path("nonfilers/", views.nonfilers, name="nonfilers"),
]
