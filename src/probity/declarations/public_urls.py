"""Pages for the public register (no sign-in) (included by ``urls.py``)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
