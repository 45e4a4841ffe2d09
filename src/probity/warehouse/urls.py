from django.urls import path

from probity.warehouse import views

app_name = "warehouse"

urlpatterns = [path("", views.status, name="status")]
