from django.urls import path

from probity.entities import views

app_name = "entities"

urlpatterns = [path("", views.index, name="index")]
