from django.urls import path

from probity.declarations import views

app_name = "declarations"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:declaration_id>/", views.detail, name="detail"),
]
