"""Cardinal's settings file (INI), read with the same keys, defaults and meaning.

A file written for Cardinal's ``ocdscardinal indicators --settings FILE`` works unchanged:

- top-level keys (before any section): ``currency``, ``no_price_comparison_procurement_methods``,
  ``price_comparison_procurement_methods``;
- ``[exclusions]`` ``procurement_method_details = A|B``: contracting processes no indicator judges;
- one section per indicator (``[R003]`` …): an indicator runs only if its section is present
  (possibly empty, to use the defaults); ``[R003.procurement_method_details]`` is a map setting;
- the sections of Cardinal's ``prepare`` command (``[defaults]``, ``[redactions]``,
  ``[corrections]``, ``[modifications]``, ``[codelists.*]``) are accepted and ignored here.

Values separated by ``|`` are sets. Lines starting with ``;`` or ``#`` are comments. An unknown
section or key, or a value of the wrong type, is an error (``SettingsError``) naming the line, as
Cardinal refuses unknown fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probity.procurement.indicators import indicators
from probity.procurement.indicators.base import pipe_set

GLOBAL_KEYS = ("currency", "no_price_comparison_procurement_methods", "price_comparison_procurement_methods")
PREPARE_SECTIONS = ("defaults", "redactions", "corrections", "modifications")


class SettingsError(ValueError):
    """The settings file cannot be used; the message names the line and the reason."""


@dataclass
class IndicatorSettings:
    """Parsed settings: global options, exclusions, and each enabled indicator's section."""

    currency: str | None = None
    no_price_comparison_procurement_methods: frozenset[str] = frozenset()
    price_comparison_procurement_methods: frozenset[str] = frozenset()
    exclude_procurement_method_details: frozenset[str] = frozenset()
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)  # code → typed values given

    @property
    def enabled(self) -> list[str]:
        return sorted(self.sections)

    def value(self, code: str, name: str) -> Any:
        """A setting of an indicator: the value given, else the indicator's default."""
        given = self.sections.get(code, {})
        if name in given:
            return given[name]
        return indicators()[code].parameters[name].default

    @classmethod
    def defaults(cls, codes: list[str] | None = None) -> IndicatorSettings:
        """Every indicator (or those in ``codes``) enabled with its defaults."""
        return cls(sections={code: {} for code in (codes if codes is not None else indicators())})


def _convert(kind: type, raw: str, where: str) -> Any:
    text = raw.strip()
    if kind is str:
        return text
    if kind is int:
        try:
            number = int(text)
        except ValueError:
            raise SettingsError(f"{where}: {text!r} is not a whole number.") from None
        return number
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise SettingsError(f"{where}: {text!r} is not a number.") from None
    if kind is bool:
        if text in ("true", "false"):
            return text == "true"
        raise SettingsError(f"{where}: {text!r} is not true or false.")
    raise SettingsError(f"{where}: unsupported setting type.")


def parse_settings(text: str, *, source: str = "settings") -> IndicatorSettings:
    """Reads Cardinal's INI text; ``SettingsError`` on anything Cardinal would refuse."""
    registry = indicators()
    settings = IndicatorSettings()
    section: str | None = None
    subkey: str | None = None  # for "[R003.procurement_method_details]"
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{source}, line {number}"
        stripped = line.strip()
        if not stripped or stripped[0] in ";#":
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise SettingsError(f"{where}: a section header must end with ']'.")
            name = stripped[1:-1].strip()
            section, _, subkey_text = name.partition(".")
            subkey = subkey_text or None
            if section in registry:
                params = registry[section].parameters
                if subkey is not None and (subkey not in params or params[subkey].kind is not dict):
                    raise SettingsError(f"{where}: unknown section [{name}].")
                values = settings.sections.setdefault(section, {})
                if subkey is not None:
                    values.setdefault(subkey, {})
            elif section == "exclusions" and subkey is None:
                pass
            elif (section in PREPARE_SECTIONS and subkey is None) or (
                section == "codelists" and subkey in ("bid_status", "award_status")
            ):
                section = "prepare"
            else:
                raise SettingsError(f"{where}: unknown section [{name}].")
            continue
        key, separator, raw = stripped.partition("=")
        if not separator:
            raise SettingsError(f"{where}: expected 'key = value'.")
        key, value = key.strip(), raw.strip()
        if section is None:
            if key not in GLOBAL_KEYS:
                raise SettingsError(f"{where}: unknown setting {key!r}.")
            if key == "currency":
                settings.currency = value
            elif key == "no_price_comparison_procurement_methods":
                settings.no_price_comparison_procurement_methods = pipe_set(value)
            else:
                settings.price_comparison_procurement_methods = pipe_set(value)
        elif section == "prepare":
            continue
        elif section == "exclusions":
            if key != "procurement_method_details":
                raise SettingsError(f"{where}: unknown setting {key!r} in [exclusions].")
            settings.exclude_procurement_method_details = pipe_set(value)
        else:
            params = registry[section].parameters
            if subkey is not None:
                # Map values are whole numbers of days (Cardinal: HashMap<String, i64>).
                settings.sections[section][subkey][key] = _convert(int, value, where)
                continue
            if key not in params or params[key].kind is dict:
                raise SettingsError(f"{where}: unknown setting {key!r} in [{section}].")
            parameter = params[key]
            converted = _convert(parameter.kind, value, where)
            if parameter.minimum is not None and converted < parameter.minimum:
                raise SettingsError(f"{where}: {key} must be at least {parameter.minimum:g}.")
            settings.sections[section][key] = converted
    return settings


def read_settings(path: str | Path) -> IndicatorSettings:
    """Reads a settings file; ``SettingsError`` if it is missing or invalid."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"The settings file {file} cannot be read ({exc.strerror or exc}).") from exc
    except UnicodeDecodeError:
        raise SettingsError(f"The settings file {file} is not UTF-8 text.") from None
    return parse_settings(text, source=str(file))


def settings_from_mapping(values: Mapping[str, Any]) -> IndicatorSettings:
    """Settings from a nested mapping shaped like the INI file (for the API and tests)."""
    lines: list[str] = []
    sections: list[str] = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            sections.append(f"[{key}]")
            for name, item in value.items():
                if isinstance(item, Mapping):
                    sections.append(f"[{key}.{name}]")
                    sections += [f"{k} = {v}" for k, v in item.items()]
                    sections.append(f"[{key}]")
                else:
                    sections.append(f"{name} = {item}")
        else:
            lines.append(f"{key} = {value}")
    return parse_settings("\n".join(lines + sections), source="settings")
