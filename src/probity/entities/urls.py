from django.urls import path

from probity.entities import views

app_name = "entities"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.entity_detail, name="entity"),
    path("candidates/", views.candidates, name="candidates"),
    path("export.ftm", views.ftm_export, name="export"),
    path("exports/<str:name>", views.export_file, name="export_file"),
    path("candidates/<int:pk>/decision/", views.candidate_decide, name="decide"),
]
