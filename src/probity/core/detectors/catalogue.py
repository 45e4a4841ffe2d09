"""The detector catalogue: every registered detector as a Markdown page, generated from the registry.

``probity detectors catalogue --output docs/detectors.md`` writes it; ``--check`` (run in CI) fails when
the page in the repository no longer matches the code. The page is in English, the language of the code.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.utils import translation

from probity.core.detectors import Detector, detector_registry
from probity.core.modules import subject_type_label

HEADER = """\
# Detector catalogue

Every detector Probity has, generated from the detector registry by
`probity detectors catalogue --output docs/detectors.md` (CI checks that this page is current).
Each detector judges every subject it can: *flag*, *pass* or *not applicable*, with the reason.
Parameter defaults can be overridden per installation with `PROBITY_DETECTOR_PARAMETERS` in the
settings, and per run with `probity detectors run CODE --param NAME=VALUE` or the API
(`POST /api/v1/detectors/{code}/runs`).
"""


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _default(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(item) for item in value) or "(none)"
    return str(value)


def _module_name(detector: type[Detector]) -> str:
    config = apps.get_containing_app_config(detector.__module__)
    return str(config.verbose_name) if config is not None else detector.__module__


def _entry(detector: type[Detector]) -> list[str]:
    lines = [
        f'<a id="{detector.code.lower()}"></a>',
        "",
        f"### {detector.code} — {_cell(detector.title)}",
        "",
        _cell(detector.description),
        "",
        f"- **Subject:** {_cell(subject_type_label(detector.subject_type))}",
        f"- **Fields read:** {', '.join(f'`{name}`' for name in detector.fields) or '(none listed)'}",
        f"- **Defined in:** `{detector.__module__}`",
    ]
    if detector.parameters:
        lines += ["", "| parameter | default | meaning |", "| --- | --- | --- |"]
        lines += [
            f"| `{parameter.name}` | {_cell(_default(parameter.default))} | {_cell(parameter.description)} |"
            for parameter in detector.parameters
        ]
    else:
        lines += ["", "No parameters."]
    return [*lines, ""]


def detector_catalogue() -> str:
    """The catalogue as Markdown: a summary table, then each detector grouped by the module defining it."""
    with translation.override("en"):
        by_module: dict[str, list[type[Detector]]] = {}
        for detector in detector_registry().values():
            by_module.setdefault(_module_name(detector), []).append(detector)
        lines = [HEADER, f"{sum(len(group) for group in by_module.values())} detectors.", ""]
        lines += ["| code | title | module | subject |", "| --- | --- | --- | --- |"]
        for module, detectors in by_module.items():
            lines += [
                f"| [{d.code}](#{d.code.lower()}) | {_cell(d.title)} | {module} | "
                f"{_cell(subject_type_label(d.subject_type))} |"
                for d in detectors
            ]
        lines.append("")
        for module, detectors in by_module.items():
            lines += [f"## {module}", ""]
            for detector in detectors:
                lines += _entry(detector)
        return "\n".join(lines).rstrip() + "\n"
