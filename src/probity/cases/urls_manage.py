"""The set-up and oversight pages of cases: the case-type catalogue, pools, recusals, the allocation register
and the statistics (namespace ``cases``, with the work pages of ``urls_work``)."""

from __future__ import annotations

from django.urls import path

from probity.cases import admin_views

urlpatterns = [
    path("types/", admin_views.case_types, name="types"),
    path("types/<slug:code>/", admin_views.case_type_detail, name="type_detail"),
    path("types/<slug:code>/v<int:version>/", admin_views.case_type_detail, name="type_detail"),
    path("types/<slug:code>/edit/", admin_views.case_type_edit, name="type_edit"),
    path("pools/", admin_views.pools, name="pools"),
    path("pools/<int:pk>/", admin_views.pool_detail, name="pool_detail"),
    path("recusals/", admin_views.recusals, name="recusals"),
    path("allocation/", admin_views.allocation_register, name="allocation"),
    path("statistics/", admin_views.statistics, name="statistics"),
]
