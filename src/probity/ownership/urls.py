from django.urls import path

from probity.ownership import views

app_name = "ownership"

urlpatterns = [
    path("", views.index, name="index"),
    path("parties/<int:pk>/", views.party_detail, name="party"),
    path("organisations/<int:organisation_id>/", views.organisation_ownership, name="organisation"),
    path("people/<int:person_id>/", views.person_ownership, name="person"),
    path("ingests/<int:pk>/", views.batch_detail, name="batch"),
]
