"""Pages for filing endpoints for declarants and integrations (included by ``urls.py``)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
