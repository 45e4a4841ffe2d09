"""Forms of the e-filing pages: one row of a section, the header step, and the deadline form.

The row forms are built from the schema (``filing.steps.section_fields``). Every field is kept as the
declarant typed it (text), so that a draft never loses input; the schema check then reports each
problem in plain words beside its field (``attach_errors``). ``row_content`` turns a row's form data
into declaration content, and ``row_data`` turns content back into form data.
"""

from __future__ import annotations

import math
import re
from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from probity.core.models import PublicBody
from probity.declarations.deadlines import parse_reminder_days
from probity.declarations.filing.steps import (
    CHOICE_LABELS,
    NOT_PROVIDED_CHOICES,
    SECTION_TITLES,
    FieldSpec,
    currencies,
    field_path,
    section_fields,
)
from probity.declarations.models import Declaration
from probity.declarations.schema import FieldError, field_label

BLANK = ("", "—")


class DateInput(forms.TextInput):
    input_type = "date"


def _choice_label(value: str) -> Any:
    return CHOICE_LABELS.get(value, value.replace("_", " "))


def _provided(label: Any) -> str:
    return gettext("%(field)s: provided?") % {"field": label}


_provided_label = lazy(_provided, str)  # the form classes are built once: translate when shown


def currency_choices() -> list[tuple[str, str]]:
    return [BLANK, *((c, c) for c in currencies())]


def _field_for(spec: FieldSpec) -> dict[str, forms.Field]:
    """The form fields of one schema field: the value (two for money) and the "not provided" choice."""
    label = spec.label
    fields: dict[str, forms.Field] = {}
    if spec.kind == "money":
        fields[f"{spec.name}_amount"] = forms.CharField(
            label=_("Amount"),
            required=False,
            max_length=40,
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            help_text=_("a number, like 1234.50"),
        )
        fields[f"{spec.name}_currency"] = forms.ChoiceField(
            label=_("Currency"), required=False, choices=currency_choices()
        )
    elif spec.kind == "choice":
        fields[spec.name] = forms.ChoiceField(
            label=label, required=False, choices=[BLANK, *((c, _choice_label(c)) for c in spec.choices)]
        )
    elif spec.kind == "owner":
        fields[spec.name] = forms.ChoiceField(label=label, required=False, choices=[])
    elif spec.kind == "id":
        fields[spec.name] = forms.CharField(required=False, widget=forms.HiddenInput)
    elif spec.kind == "boolean":
        fields[spec.name] = forms.BooleanField(label=label, required=False)
    elif spec.kind == "date":
        fields[spec.name] = forms.CharField(
            label=label, required=False, max_length=40, widget=DateInput, help_text=_("YYYY-MM-DD")
        )
    elif spec.kind in ("number", "integer"):
        fields[spec.name] = forms.CharField(
            label=label,
            required=False,
            max_length=40,
            widget=forms.TextInput(attrs={"inputmode": "decimal" if spec.kind == "number" else "numeric"}),
        )
    elif spec.kind == "textarea":
        fields[spec.name] = forms.CharField(
            label=label, required=False, widget=forms.Textarea(attrs={"rows": 2}), strip=False
        )
    else:
        fields[spec.name] = forms.CharField(label=label, required=False, strip=False)
    if spec.not_providable:
        fields[f"{spec.name}_np"] = forms.ChoiceField(
            label=_provided_label(label), required=False, choices=NOT_PROVIDED_CHOICES
        )
    return fields


class RowForm(forms.Form):
    """One row of a section; ``owners`` are the choices of the owner field (declarant and family)."""

    section: str = ""

    def __init__(self, *args: Any, owners: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("use_required_attribute", False)
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            self.fields["owner"].choices = owners or []  # type: ignore[attr-defined]

    def groups(self) -> list[dict[str, Any]]:
        """The fields grouped for display: each schema field with its value field(s) and "not provided"."""
        out = []
        for spec in section_fields(self.section):
            if spec.kind == "id":
                continue
            names = [f"{spec.name}_amount", f"{spec.name}_currency"] if spec.kind == "money" else [spec.name]
            out.append(
                {
                    "spec": spec,
                    "label": spec.label,
                    "required": spec.required,
                    "money": spec.kind == "money",
                    "checkbox": spec.kind == "boolean",
                    "fields": [self[name] for name in names],
                    "np": self[f"{spec.name}_np"] if spec.not_providable else None,
                }
            )
        return out


_ROW_FORMS: dict[str, type[RowForm]] = {}


def row_form_class(section: str) -> type[RowForm]:
    if section not in _ROW_FORMS:
        attrs: dict[str, Any] = {"section": section}
        for spec in section_fields(section):
            attrs.update(_field_for(spec))
        _ROW_FORMS[section] = type(f"{section.title().replace('_', '')}RowForm", (RowForm,), attrs)
    return _ROW_FORMS[section]


def _number(raw: str, integer: bool) -> Any:
    text = raw.strip()
    try:
        number = int(text) if integer or re.fullmatch(r"-?\d+", text) else float(text)
    except ValueError:
        return text  # kept as typed: the schema check says it is not a number
    if isinstance(number, float) and not math.isfinite(number):
        return text  # "nan", "inf": not a number a declaration can hold (nor JSON)
    return number


def row_content(section: str, get: Any) -> dict[str, Any]:
    """Declaration content of one row from form data (``get(name)`` returns the raw value or None)."""
    row: dict[str, Any] = {}
    for spec in section_fields(section):
        name = spec.name
        if spec.not_providable and (get(f"{name}_np") or "") in ("family_member_refused", "unknown"):
            row[name] = {"not_provided": get(f"{name}_np")}
            continue
        if spec.kind == "money":
            amount = (get(f"{name}_amount") or "").strip().replace(" ", "")
            currency = (get(f"{name}_currency") or "").strip().upper()
            if amount:
                row[name] = {"amount": amount, "currency": currency}
            continue
        raw = get(name)
        if spec.kind == "boolean":
            if raw not in (None, "", "off", "false"):
                row[name] = True
            continue
        text = "" if raw is None else str(raw)
        if not text.strip():
            continue
        if spec.kind in ("number", "integer"):
            row[name] = _number(text, spec.kind == "integer")
        elif spec.kind in ("text", "textarea"):
            row[name] = text.strip()
        else:
            row[name] = text.strip()
    return row


def row_data(section: str, row: dict[str, Any]) -> dict[str, Any]:
    """Form data (unprefixed) showing one row of content."""
    data: dict[str, Any] = {}
    for spec in section_fields(section):
        value = row.get(spec.name)
        if isinstance(value, dict) and "not_provided" in value:
            data[f"{spec.name}_np"] = value["not_provided"]
        elif spec.kind == "money" and isinstance(value, dict):
            data[f"{spec.name}_amount"] = str(value.get("amount", ""))
            data[f"{spec.name}_currency"] = str(value.get("currency", ""))
        elif spec.kind == "boolean":
            if value:
                data[spec.name] = "on"
        elif value is not None:
            data[spec.name] = str(value)
    return data


def prefixed(prefix: str, data: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}-{key}": value for key, value in data.items()}


REQUIRED = re.compile(r"^the field '([^']+)' is required$")


def plain_message(message: str) -> Any:
    """The schema's message in the user's language where it is one of the common ones."""
    if REQUIRED.match(message):
        return _("This field is required.")
    if message.endswith("is not a real date (YYYY-MM-DD)"):
        return _("This is not a real date; write it as YYYY-MM-DD.")
    if " is not an amount:" in message:
        return _("This is not an amount: write a number like 1234.50 (at most 15 digits before the point, 4 after).")
    if message.endswith("must be of type number") or message.endswith("must be of type integer"):
        return _("This is not a number.")
    if message.endswith("is not an ISO 4217 currency code"):
        return _("Choose a currency.")
    if "is out of range (minimum" in message:
        return _("This number is too small.")
    if "is out of range (maximum" in message:
        return _("This number is too large.")
    if "is neither 'declarant' nor the id of a listed family member" in message:
        return _("The owner is neither you nor a listed family member.")
    if " is listed twice" in message and message.startswith("the id "):
        return _("This family member is listed twice.")
    longer = re.fullmatch(r"is longer than (\d+) characters", message)
    if longer:
        return _("This is longer than %(count)s characters.") % {"count": longer.group(1)}
    if message.startswith("amounts are in several currencies"):
        return _("The amounts are in several currencies: choose the currency of the declaration.")
    return message


ROW_PATH = re.compile(r"^(?P<section>[a-z_]+)\[(?P<index>\d+)\](?:\.(?P<rest>.*))?$")


def error_text(error: FieldError) -> str:
    """A problem as the declarant reads it: the section, row and field by their labels, then a sentence.

    ``income[0]: the field 'kind' is required`` → "Income, row 1, Kind: This field is required."
    """
    path = field_path(error)
    message = str(plain_message(error.message))
    where, label = "", ""
    row = ROW_PATH.match(path)
    if row:
        section, number = row["section"], int(row["index"]) + 1
        where = gettext("%(section)s, row %(number)s") % {
            "section": SECTION_TITLES.get(section, section.replace("_", " ")),
            "number": number,
        }
        if row["rest"]:
            label = field_label([section, number, *row["rest"].split(".")])
    else:
        name = header_error_field(error)
        if name is not None:
            label = str(HeaderForm.base_fields[name].label)
        elif path:
            label = field_label(path.split("."))
    if label and not message.startswith(label):
        where = gettext("%(where)s, %(field)s") % {"where": where, "field": label} if where else label
    return gettext("%(where)s: %(message)s") % {"where": where, "message": message} if where else message


def error_field(section_path: str, rest: str, message: str) -> str | None:
    """The form field (unprefixed) that a schema error under a row belongs to, or None."""
    required = REQUIRED.match(message)
    if not rest:
        return required.group(1) if required else None
    parts = rest.split(".")
    name = parts[0]
    if len(parts) > 1 and parts[1] in ("amount", "currency"):
        return f"{name}_{parts[1]}"
    if len(parts) > 1 and required and required.group(1) in ("amount", "currency"):
        return f"{name}_{required.group(1)}"
    return name


def attach_errors(form: forms.Form, errors: list[tuple[str | None, str]]) -> None:
    """Adds the schema's problems to a bound form, beside their fields where they have one."""
    for name, message in errors:
        target = name
        if target is not None and f"{target}_amount" in form.fields:
            target = f"{target}_amount"
        if target is not None and (target not in form.fields or form.fields[target].widget.is_hidden):
            target = None
        if target is not None and form.has_error(target):
            continue  # one message per field is enough
        form.add_error(target, str(plain_message(message)))
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            widget.attrs["aria-invalid"] = "true"
            bound = form[name]
            described = [f"{bound.auto_id}_errors"]
            if form.fields[name].help_text:
                described.append(f"{bound.auto_id}_helptext")
            widget.attrs["aria-describedby"] = " ".join(described)


# --- the header step -------------------------------------------------------------------------------

HEADER_FIELDS = {
    # form field → path in the content
    "declarant_name": "declarant.name",
    "declarant_birth_date": "declarant.birth_date",
    "declarant_national_id": "declarant.national_id",
    "declarant_address": "declarant.address",
    "position_title": "position.title",
    "body_name": "position.body.name",
    "position_start_date": "position.start_date",
    "period_start": "period.start",
    "period_end": "period.end",
    "reporting_currency": "reporting_currency",
}


class HeaderForm(forms.Form):
    declarant_name = forms.CharField(label=_("Your full name"), required=False, max_length=400)
    declarant_birth_date = forms.CharField(
        label=_("Your date of birth"), required=False, widget=DateInput, help_text=_("YYYY-MM-DD")
    )
    declarant_national_id = forms.CharField(label=_("Your national identity number"), required=False)
    declarant_address = forms.CharField(label=_("Your address"), required=False)
    position_title = forms.CharField(label=_("Position"), required=False, max_length=400)
    body_name = forms.CharField(label=_("Public body"), required=False, max_length=400)
    position_start_date = forms.CharField(
        label=_("In this position since"), required=False, widget=DateInput, help_text=_("YYYY-MM-DD")
    )
    period_start = forms.CharField(
        label=_("Period from"), required=False, widget=DateInput, help_text=_("empty: the whole year")
    )
    period_end = forms.CharField(
        label=_("Period to"), required=False, widget=DateInput, help_text=_("empty: the whole year")
    )
    reporting_currency = forms.ChoiceField(
        label=_("Currency of the declaration"),
        required=False,
        choices=[],
        help_text=_("amounts in other currencies are converted at the rate of the end of the period"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("use_required_attribute", False)
        super().__init__(*args, **kwargs)
        self.fields["reporting_currency"].choices = currency_choices()  # type: ignore[attr-defined]


REQUIRED_HEADER = {"declarant_name", "position_title"}


def header_data(content: dict[str, Any]) -> dict[str, Any]:
    data = {}
    for name, path in HEADER_FIELDS.items():
        value: Any = content
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, dict):
            data[name] = str(value)
    return data


def header_content(content: dict[str, Any], get: Any) -> dict[str, Any]:
    """The header keys of the content (declarant, position, period, reporting_currency) from form data."""
    declarant = dict(content.get("declarant") or {})
    position = dict(content.get("position") or {})
    period = dict(content.get("period") or {})
    body = dict(position.get("body") or {})

    def put(target: dict[str, Any], key: str, field: str) -> None:
        value = (get(field) or "").strip()
        if value:
            target[key] = value
        else:
            target.pop(key, None)

    put(declarant, "name", "declarant_name")
    put(declarant, "birth_date", "declarant_birth_date")
    put(declarant, "national_id", "declarant_national_id")
    put(declarant, "address", "declarant_address")
    put(position, "title", "position_title")
    put(position, "start_date", "position_start_date")
    put(body, "name", "body_name")
    if body.get("name"):
        position["body"] = body
    else:
        position.pop("body", None)
    put(period, "start", "period_start")
    put(period, "end", "period_end")
    currency = (get("reporting_currency") or "").strip().upper()
    return {
        "declarant": declarant,
        "position": position,
        "period": period,
        "reporting_currency": currency or None,
    }


def header_error_field(error: FieldError) -> str | None:
    path = error.path
    required = REQUIRED.match(error.message)
    if required:
        path = f"{path}.{required.group(1)}" if path else required.group(1)
    for name, header_path in HEADER_FIELDS.items():
        if path == header_path:
            return name
    if path == "position.body":
        return "body_name"
    if path in ("declarant",):
        return "declarant_name"
    if path in ("position",):
        return "position_title"
    return None


# --- deadlines ---------------------------------------------------------------------------------


class DeadlineForm(forms.Form):
    declaration_type = forms.ChoiceField(label=_("Type"), choices=Declaration.Type.choices)
    year = forms.IntegerField(label=_("Year"), min_value=1900, max_value=2200)
    body = forms.ModelChoiceField(
        label=_("Public body"),
        queryset=PublicBody.objects.order_by("name"),
        required=False,
        empty_label=_("Every body"),
    )
    due_date = forms.DateField(label=_("Due date"), widget=DateInput, help_text=_("YYYY-MM-DD"))
    reminder_days = forms.CharField(
        label=_("Reminders (days before the due date)"),
        required=False,
        initial="30,7,1",
        help_text=_("comma-separated, for example 30,7,1; a reminder is also sent once when overdue"),
    )

    def clean_reminder_days(self) -> list[int]:
        try:
            return parse_reminder_days(self.cleaned_data.get("reminder_days", ""))
        except ValueError as exc:
            raise forms.ValidationError(_("Write whole numbers of days between 1 and 366, like 30,7,1.")) from exc


class ObligationFilterForm(forms.Form):
    declaration_type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("Every type")), *Declaration.Type.choices]
    )
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1900, max_value=2200)
    body = forms.ModelChoiceField(
        label=_("Public body"),
        queryset=PublicBody.objects.order_by("name"),
        required=False,
        empty_label=_("Every body"),
    )
    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("all", _("Non-filers and late filers")),
            ("overdue", _("Overdue: not filed")),
            ("late", _("Filed late")),
        ],
    )


class StartForm(forms.Form):
    declaration_type = forms.ChoiceField(label=_("Type"), choices=Declaration.Type.choices)
    year = forms.IntegerField(label=_("Year"), min_value=1900, max_value=2200)
