"""What a caller holds to read a report: the report's private keys it opened (``ReportKeys``), and a
reporter signed in with their receipt (``ReporterSession``). ``services`` hands them out; ``selectors``
and ``services`` read with them."""

from __future__ import annotations

from dataclasses import dataclass, field

from nacl.public import PrivateKey

from probity.reporting.models import Report


@dataclass
class ReportKeys:
    """The private keys of one report that the caller holds (None where they hold no grant)."""

    report: Report
    content: PrivateKey
    case: PrivateKey | None = None
    identity: PrivateKey | None = None


@dataclass
class ReporterSession:
    """A reporter signed in with their receipt: the report and its content and identity keys."""

    report: Report
    keys: ReportKeys
    token: str = field(default="", repr=False)
