"""API endpoints of the core app (placeholder replaced below)."""

from ninja import NinjaAPI


def build_api() -> NinjaAPI:
    return NinjaAPI(title="Probity API", version="1", urls_namespace="api-1")
