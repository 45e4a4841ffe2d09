"""Pages for verification endpoints: queue, samples, cases (included by ``urls.py``)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
