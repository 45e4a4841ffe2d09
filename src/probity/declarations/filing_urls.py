"""Pages for e-filing (included by ``urls.py`` at ``/declarations/file/``): the declarant's own
declarations and the multi-step form, and the administrators' deadlines and non-filer lists."""

from django.urls import URLPattern, path

from probity.declarations import filing_views

urlpatterns: list[URLPattern] = [
    path("", filing_views.filing_home, name="filing_home"),
    path("start/", filing_views.filing_start, name="filing_start"),
    path("<int:declaration_id>/step/<slug:step>/", filing_views.filing_step, name="filing_step"),
    path("<int:declaration_id>/receipt/<int:number>/", filing_views.filing_receipt, name="filing_receipt"),
    path("deadlines/", filing_views.deadlines, name="deadlines"),
    path("nonfilers/", filing_views.nonfilers, name="nonfilers"),
]
