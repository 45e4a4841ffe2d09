from django.urls import path

from probity.ownership import views

app_name = "ownership"

urlpatterns = [path("", views.index, name="index")]
