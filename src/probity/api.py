"""The HTTP API root, ``/api/v1/``: one NinjaAPI with a published OpenAPI schema.

Machine clients authenticate with ``Authorization: Bearer <token>`` (tokens from ``probity token
create`` or the web page); a signed-in browser session also works (with the CSRF header for writes). Every error has the
same body: ``{"error": {"code": ..., "message": ..., "details": ...}}``.
"""

from __future__ import annotations

from probity.core.api import build_api

api = build_api()
