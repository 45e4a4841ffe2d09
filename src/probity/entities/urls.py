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
    path("screening/", views.screening_page, name="screening"),
    path("screening/batches/<int:pk>/", views.screening_batch, name="screening_batch"),
    path("screening/batches/<int:pk>/result.<str:fmt>", views.screening_result, name="screening_result"),
    path("watchlists/", views.watchlist_index, name="watchlists"),
    path("watchlists/<int:pk>/", views.watchlist_detail, name="watchlist"),
    path("ftm/<str:ftm_id>/", views.entity_by_ftm_id, name="entity_by_ftm_id"),
]
