"""Verification pages, included by ``declarations/urls.py`` at ``/declarations/verification/``
(namespace ``declarations``)."""

from django.urls import URLPattern, path

from probity.declarations.verification import views

urlpatterns: list[URLPattern] = [
    path("", views.queue, name="verification_queue"),
    path("cases/<int:case_id>/", views.case, name="verification_case"),
    path("samples/", views.samples, name="verification_samples"),
    path("samples/<int:sample_id>/", views.sample, name="verification_sample"),
    path("compare/<int:declaration_id>/", views.compare, name="declaration_compare"),
]
