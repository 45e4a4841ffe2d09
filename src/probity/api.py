"""The HTTP API root, ``/api/v1/``: one NinjaAPI with a published OpenAPI schema.

The project assembles it: core's API machinery (``probity.core.api.build_api``: authentication, the one
error body, the fallback for unknown paths) mounts every router every installed module declares on its
``AppConfig`` (``ModuleConfig.api_routers``), in the order of ``INSTALLED_APPS``.

Machine clients authenticate with ``Authorization: Bearer <token>`` (tokens from ``probity token
create`` or the web page); a signed-in browser session also works (with the CSRF header for writes). Every error has the
same body: ``{"error": {"code": ..., "message": ..., "details": ...}}``.
"""

from __future__ import annotations

from probity.core.api import build_api
from probity.core.modules import api_routers

api = build_api(routers=api_routers())
