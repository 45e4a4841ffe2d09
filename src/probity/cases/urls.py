"""The cases module's pages: the work pages (``urls_work``) and the set-up and oversight pages
(``urls_manage``), under one namespace."""

from __future__ import annotations

from probity.cases.urls_manage import urlpatterns as manage
from probity.cases.urls_work import urlpatterns as work

app_name = "cases"

# The set-up pages first: their fixed prefixes (types/, pools/, …) must win over a case reference.
urlpatterns = [*manage, *work]
