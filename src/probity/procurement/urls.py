from django.urls import path

from probity.procurement import views

app_name = "procurement"

urlpatterns = [path("", views.index, name="index")]
