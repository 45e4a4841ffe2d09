"""Keeps who a reporter is out of the request before any view, log record or error report sees it.

The reporting channel promises that the server stores no IP address or user agent of a reporter, and
that no log carries them either. Django's own log records (``django.request``, ``django.security.*``)
carry the request object, and error e-mails print all of ``request.META``; scrubbing ``META`` at the
start of the request removes the address and browser from every one of them.

Flood control still needs to tell clients apart for a while: before scrubbing, the address is turned
into a pseudonym (an HMAC with a key that changes every day and is derived, never stored), kept only on
the request object as ``request.reporting_client_key`` for rate limits held in the cache.

Install ``ReporterPrivacyMiddleware`` right after ``SecurityMiddleware``; until then every reporter view
is wrapped in :func:`reporter_privacy`, which does the same inside the view.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Request headers that identify a person's machine or the page they came from.
IDENTIFYING_META = (
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_PORT",
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_X_CLUSTER_CLIENT_IP",
    "HTTP_VIA",
    "HTTP_SEC_CH_UA",
    "HTTP_SEC_CH_UA_PLATFORM",
    "HTTP_SEC_CH_UA_MOBILE",
)
SCRUBBED_ADDRESS = "0.0.0.0"  # noqa: S104  # a placeholder, never bound: some libraries expect an address
REPORTING_PREFIXES = ("/reporting/", "/api/v1/reporting/")

# Paths a reporter uses, for which responses must not be cached or leave a referrer.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), interest-cohort=()"


def client_pseudonym(address: str, *, day: datetime.date | None = None) -> str:
    """An HMAC of the address with a key for the day: lets the cache count requests, unlinkable tomorrow."""
    day = day or datetime.datetime.now(datetime.UTC).date()
    key = hashlib.sha256(f"probity-reporting-client:{day.isoformat()}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]


def scrub_request(request: HttpRequest) -> None:
    """Replaces the identifying request headers by placeholders, keeping a daily pseudonym for flood control."""
    if getattr(request, "reporting_scrubbed", False):
        return
    meta = request.META
    address = str(meta.get("REMOTE_ADDR") or "")
    request.reporting_client_key = client_pseudonym(address)  # type: ignore[attr-defined]
    for name in IDENTIFYING_META:
        if name in meta:
            meta[name] = SCRUBBED_ADDRESS if name == "REMOTE_ADDR" else ""
    meta.setdefault("REMOTE_ADDR", SCRUBBED_ADDRESS)
    # A referrer from another site (an intranet link, a search) says where the reporter came from; one
    # from this site is needed by Django's CSRF check over HTTPS and says nothing.
    referer = str(meta.get("HTTP_REFERER") or "")
    if referer and urlsplit(referer).netloc != request.get_host():
        meta["HTTP_REFERER"] = ""
    # The same for Origin, which Django's CSRF check writes into its log when it refuses one. A foreign
    # origin becomes "null" (what browsers send for an opaque origin): still refused, but nameless.
    origin = str(meta.get("HTTP_ORIGIN") or "")
    if origin and origin != "null" and urlsplit(origin).netloc != request.get_host():
        meta["HTTP_ORIGIN"] = "null"
    request.reporting_scrubbed = True  # type: ignore[attr-defined]


def harden_response(response: HttpResponse) -> HttpResponse:
    """No copy of a reporting page in any cache, no referrer to other sites, no powerful browser features.

    ``same-origin``, not ``no-referrer``: with ``no-referrer`` browsers send ``Origin: null`` on form posts,
    which Django's CSRF protection (rightly) refuses; ``same-origin`` still sends nothing to other sites.
    """
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, noarchive"
    response["Permissions-Policy"] = PERMISSIONS_POLICY
    return response


def _retry_after(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A ``Retry-After`` header where a view asked for one (``request.reporting_retry_after``)."""
    seconds = getattr(request, "reporting_retry_after", None)
    if seconds and response.status_code in (429, 503) and not response.has_header("Retry-After"):
        response["Retry-After"] = str(int(seconds))
    return response


class CsrfLogFilter(logging.Filter):
    """Takes any address out of Django's CSRF refusals on the reporting paths ("Origin checking failed -
    https://…", "Referer checking failed - https://…"): where a reporter came from stays out of the logs
    even where the middleware did not run first."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = str(getattr(request, "path", "") or "")
        if not path.startswith(REPORTING_PREFIXES) or not record.args:
            return True
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        record.args = tuple(
            _ADDRESS.sub("(address removed)", value) if isinstance(value, str) else value for value in args
        )
        return True


_ADDRESS = re.compile(r"(?<= - )\S+(?= does not match)|[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


class ReporterPrivacyMiddleware:
    """Scrubs identifying headers from every request to the reporting channel (pages and API)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(REPORTING_PREFIXES):
            scrub_request(request)
            return harden_response(_retry_after(request, self.get_response(request)))
        return self.get_response(request)


View = TypeVar("View", bound=Callable[..., HttpResponse])


def reporter_privacy(view: View) -> View:
    """The middleware's work for one view, for installations (and tests) that lack the middleware."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        scrub_request(request)
        return harden_response(_retry_after(request, view(request, *args, **kwargs)))

    return wrapped  # type: ignore[return-value]
