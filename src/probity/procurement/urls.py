from django.urls import path

from probity.procurement import views

app_name = "procurement"

urlpatterns = [
    path("", views.index, name="index"),
    path("processes/<path:ocid>/", views.process, name="process"),
    path("buyers/", views.buyers, name="buyers"),
    path("buyers/<path:key>/", views.buyer, name="buyer"),
    path("suppliers/", views.suppliers, name="suppliers"),
    path("suppliers/<path:key>/", views.supplier, name="supplier"),
    path("coverage/", views.coverage, name="coverage"),
    path("ingest/", views.ingest, name="ingest"),
    path("debarments/", views.debarments, name="debarments"),
    path("codelists/", views.codelists, name="codelists"),
]
