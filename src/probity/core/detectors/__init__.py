"""The detector registry: every rule that writes findings is one small class registered here.

A detector has a stable ``code``, a ``title``, a ``description`` (what it measures and why that
signals risk), the ``fields`` it needs, and ``parameters`` with defaults. Its ``evaluate`` yields,
for every subject it could judge, a ``Judgement``: flag, pass or not applicable with the reason.
``probity.core.services.detector_run`` turns judgements into stored findings and a run record.

Modules add detectors by subclassing ``Detector`` and decorating the class with ``@register``;
settings may override defaults through ``PROBITY_DETECTOR_PARAMETERS = {"CODE": {"name": value}}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.conf import settings
from django.utils.functional import Promise


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    description: str | Promise
    kind: type = str

    def parse(self, raw: Any) -> Any:
        """Turns a value given on the command line or in the API into the parameter's type."""
        if isinstance(raw, self.kind) and not (self.kind is int and isinstance(raw, bool)):
            return raw
        if self.kind is bool:
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(f"parameter {self.name} must be true or false, not {raw!r}")
        if self.kind in (list, tuple):
            if isinstance(raw, list | tuple):
                return list(raw)
            return [part.strip() for part in str(raw).split(",") if part.strip()]
        try:
            return self.kind(raw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"parameter {self.name} must be a {self.kind.__name__}, not {raw!r}") from exc


@dataclass
class Judgement:
    """One detector's conclusion about one subject.

    ``message`` is an untranslated message (mark it with ``gettext_noop``) and ``params`` fill its
    ``%(name)s`` placeholders: the finding stores both, so each reader sees the explanation in their
    own language, and also the explanation rendered in the installation's default language.
    """

    subject_type: str
    subject_id: str
    outcome: str  # "flag", "pass" or "not_applicable"
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    subject_label: str = ""
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def explanation(self) -> str:
        from django.utils.translation import gettext

        return gettext(self.message) % self.params


class Detector:
    code: ClassVar[str]
    title: ClassVar[str | Promise]
    description: ClassVar[str | Promise]
    subject_type: ClassVar[str]
    fields: ClassVar[tuple[str, ...]] = ()
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    # The data sources the detector reads ("procurement", "ownership", "declarations", …): when a job
    # changes one of them, the detectors that read it are queued again (``core.jobs_events``).
    reads: ClassVar[tuple[str, ...]] = ()

    def dataset(self) -> str:
        """Describes what the detector reads, for the run record."""
        return ""

    def count_subjects(self) -> int | None:
        """How many subjects will be judged, for progress bars; None when unknown."""
        return None

    def evaluate(self, params: Mapping[str, Any]) -> Iterator[Judgement]:
        raise NotImplementedError

    @classmethod
    def resolve_parameters(cls, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults, then settings, then what the caller gave; unknown names are an error."""
        known = {p.name: p for p in cls.parameters}
        values = {p.name: p.default for p in cls.parameters}
        configured = getattr(settings, "PROBITY_DETECTOR_PARAMETERS", {}).get(cls.code, {})
        for source in (configured, given or {}):
            for name, raw in source.items():
                if name not in known:
                    raise ValueError(
                        f"detector {cls.code} has no parameter {name!r}; it has: {', '.join(known) or 'none'}"
                    )
                values[name] = known[name].parse(raw)
        return values


_REGISTRY: dict[str, type[Detector]] = {}


def register(detector: type[Detector]) -> type[Detector]:
    existing = _REGISTRY.get(detector.code)
    if existing is not None and existing is not detector:
        raise ValueError(f"Two detectors share the code {detector.code!r}: {existing!r} and {detector!r}.")
    _REGISTRY[detector.code] = detector
    return detector


def detector_registry() -> dict[str, type[Detector]]:
    return dict(sorted(_REGISTRY.items()))


def get_detector(code: str) -> type[Detector]:
    try:
        return _REGISTRY[code]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise LookupError(f"No detector has the code {code!r}; registered detectors: {known}.") from None
