"""Forms of the set-up and oversight pages of cases: a case type's fields and its statuses, task templates,
document types and outcome types as formsets; pools and their members; recusals; the filters of the
allocation register and of the statistics.

``case_type_save`` applies an edited type: when cases use it, the changes go to a new version (the fields
through ``services.case_type_revise``, then the formsets to the copies of the old version's rows), so a case
keeps the version it was opened under.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from probity.cases import services
from probity.cases.models import Case, CaseType, DocumentType, OutcomeType, Pool, PoolMember, StatusType, TaskTemplate
from probity.cases.names import shown
from probity.core.audit import audit_as, audit_record
from probity.core.models import PublicBody
from probity.core.roles import DECLARANT, ROLE_LABELS

User = get_user_model()

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def role_choices() -> list[tuple[str, Any]]:
    """Core's roles that may work cases (a declarant only files declarations)."""
    return [(code, label) for code, label in ROLE_LABELS.items() if code != DECLARANT]


# --- a case type ---------------------------------------------------------------------------------------------


class CaseTypeForm(forms.Form):
    """The fields of a case type (a plain form: the type itself is changed only by ``case_type_save``)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    lead_time_days = forms.IntegerField(
        label=_("Lead time (days)"),
        min_value=1,
        max_value=3650,
        help_text=_("The statutory time from opening to closing."),
    )
    acknowledge_days = forms.IntegerField(
        label=_("Acknowledge within (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Leave empty when there is no deadline to acknowledge; e.g. 7 for a protected report."),
    )
    feedback_days = forms.IntegerField(
        label=_("Give feedback within (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Leave empty when there is no deadline for feedback; e.g. 90 for a protected report."),
    )
    remind_days = forms.IntegerField(label=_("Remind this many days before a deadline"), min_value=0, max_value=365)
    confidential = forms.BooleanField(
        label=_("Confidential"),
        required=False,
        help_text=_("Only the officer assigned and those who oversee every case see its cases (protected reports)."),
    )
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=DATE,
        help_text=_("Leave empty to keep the type in use. After this day no new case is opened with it."),
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles that may work it"), required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    sources = forms.MultipleChoiceField(
        label=_("Signals it takes"), required=False, widget=forms.CheckboxSelectMultiple, choices=Case.Source.choices
    )

    FIELDS = (
        "name",
        "description",
        "lead_time_days",
        "acknowledge_days",
        "feedback_days",
        "remind_days",
        "confidential",
        "valid_until",
        "roles",
        "sources",
    )

    # Shown in the reader's language (a shipped name is stored as its msgid); unchanged, the stored text stays.
    SHOWN = ("name", "description")

    def __init__(self, *args: Any, case_type: CaseType, **kwargs: Any) -> None:
        initial = {name: getattr(case_type, name) for name in self.FIELDS}
        initial.update({name: shown(initial[name]) for name in self.SHOWN})
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.case_type = case_type
        self.fields["roles"].choices = role_choices()  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise forms.ValidationError(_("A case type needs a name."))
        return name

    def clean_valid_until(self) -> date | None:
        until: date | None = self.cleaned_data.get("valid_until")
        if until is None:
            return None
        # A type that cases use is edited into a new version valid from today.
        start = timezone.localdate() if self.case_type.cases.exists() else self.case_type.valid_from
        if until < start:
            raise forms.ValidationError(
                _("The type cannot end before it starts (%(day)s).") % {"day": start.isoformat()}
            )
        return until

    def changes(self) -> dict[str, Any]:
        """The fields whose value differs from the type's."""
        out: dict[str, Any] = {}
        for name in self.FIELDS:
            value = self.cleaned_data.get(name)
            current = getattr(self.case_type, name)
            if name in self.SHOWN and value == shown(current).strip():
                continue  # the name as shown, not changed: never store a translation
            if name in ("roles", "sources"):
                value = sorted(value or [])
                if value != sorted(current or []):
                    out[name] = value
            elif value != current:
                out[name] = value
        return out


def _labelled(form: forms.BaseForm) -> None:
    """Inputs in a table cell are named by their column: give each an accessible name."""
    for field in form.fields.values():
        field.widget.attrs.setdefault("aria-label", str(field.label))


class _RowForm(forms.ModelForm):
    """A row of a type. Its name (or title) is shown in the reader's language when it is a shipped one; left as
    shown, the stored text is kept (a translation is never stored)."""

    SHOWN = "name"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _labelled(self)
        if self.instance.pk is not None:
            self.initial[self.SHOWN] = shown(getattr(self.instance, self.SHOWN))

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        stored = getattr(self.instance, self.SHOWN) if self.instance.pk is not None else ""
        if stored and data.get(self.SHOWN) == shown(stored).strip():
            data[self.SHOWN] = stored
        return data


class _CodedRowForm(_RowForm):
    """A row with a code: left empty, the code is made from the name."""

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if not data.get("code") and data.get("name"):
            data["code"] = slugify(str(data["name"]))[:32] or "item"
        return data


class StatusTypeForm(_CodedRowForm):
    class Meta:
        model = StatusType
        fields = ("order", "code", "name", "final")
        labels = {"order": _("Order"), "code": _("Code"), "name": _("Name"), "final": _("Closes the case")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False


class TaskTemplateForm(_RowForm):
    SHOWN = "title"

    class Meta:
        model = TaskTemplate
        fields = ("order", "title", "due_days")
        labels = {"order": _("Order"), "title": _("Task"), "due_days": _("Due after (days)")}


class DocumentTypeForm(_CodedRowForm):
    class Meta:
        model = DocumentType
        fields = ("code", "name")
        labels = {"code": _("Code"), "name": _("Name")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False


class OutcomeTypeForm(_CodedRowForm):
    class Meta:
        model = OutcomeType
        fields = ("code", "kind", "name", "retention_years")
        labels = {"code": _("Code"), "kind": _("Kind"), "name": _("Name"), "retention_years": _("Kept for (years)")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False


def _kept(formset: BaseInlineFormSet) -> list[dict[str, Any]]:
    """The cleaned rows that stay (not deleted, not an empty extra row)."""
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE"):
            continue
        rows.append(data)
    return rows


def _no_repeated_codes(rows: Sequence[Mapping[str, Any]], what: str) -> None:
    seen: set[str] = set()
    for row in rows:
        code = str(row.get("code") or "")
        if code in seen:
            raise forms.ValidationError(
                _("Two %(what)s have the code “%(code)s”; each needs its own.") % {"what": what, "code": code}
            )
        seen.add(code)


class StatusFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows = _kept(self)
        _no_repeated_codes(rows, str(_("statuses")))
        if not rows:
            raise forms.ValidationError(_("A case type needs at least one status."))
        if not any(row.get("final") for row in rows):
            raise forms.ValidationError(_("At least one status must close the case."))
        first = min(rows, key=lambda row: int(row.get("order") or 0))
        if first.get("final"):
            raise forms.ValidationError(
                _("The first status (the lowest order) cannot close the case: cases start there.")
            )


class CodedFormSet(BaseInlineFormSet):
    what: Any = ""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        _no_repeated_codes(_kept(self), str(self.what))


class DocumentTypeFormSet(CodedFormSet):
    what = _("document types")


class OutcomeTypeFormSet(CodedFormSet):
    what = _("outcome types")

    def clean(self) -> None:
        super().clean()
        if not any(self.errors) and not _kept(self):
            raise forms.ValidationError(_("A case type needs at least one outcome to close with."))


StatusFormSetFactory = inlineformset_factory(
    CaseType, StatusType, form=StatusTypeForm, formset=StatusFormSet, extra=1, can_delete=True
)
TaskFormSetFactory = inlineformset_factory(CaseType, TaskTemplate, form=TaskTemplateForm, extra=1, can_delete=True)
DocumentFormSetFactory = inlineformset_factory(
    CaseType, DocumentType, form=DocumentTypeForm, formset=DocumentTypeFormSet, extra=1, can_delete=True
)
OutcomeFormSetFactory = inlineformset_factory(
    CaseType, OutcomeType, form=OutcomeTypeForm, formset=OutcomeTypeFormSet, extra=1, can_delete=True
)

# (prefix, factory, caption, related name on CaseType, how a row of the old version is found in its copy)
FORMSETS: tuple[tuple[str, Any, Any, str], ...] = (
    ("statuses", StatusFormSetFactory, _("Statuses, in order"), "statuses"),
    ("tasks", TaskFormSetFactory, _("Tasks every case starts with"), "task_templates"),
    ("documents", DocumentFormSetFactory, _("Document types"), "document_types"),
    ("outcomes", OutcomeFormSetFactory, _("Outcomes it may close with"), "outcome_types"),
)


def case_type_formsets(case_type: CaseType, data: Any = None) -> list[tuple[str, Any, BaseInlineFormSet]]:
    """The four formsets of a type, bound to ``data`` when given: (prefix, caption, formset)."""
    return [
        (prefix, caption, factory(data, instance=case_type, prefix=prefix))
        for prefix, factory, caption, _related in FORMSETS
    ]


def _row_key(prefix: str, row: Model) -> tuple[Any, ...]:
    """What identifies a row of a type in its copy (the copy has new ids): its code, or for a task template
    its order, title and due days."""
    if prefix == "tasks":
        assert isinstance(row, TaskTemplate)
        return (row.order, row.title, row.due_days)
    assert isinstance(row, StatusType | DocumentType | OutcomeType)
    return (row.code,)


def _copies(prefix: str, related: str, old: CaseType, new: CaseType) -> dict[int, Model]:
    """Each row of ``old`` (by id) mapped to its copy in ``new``."""
    pool: dict[tuple[Any, ...], list[Model]] = {}
    for row in getattr(new, related).order_by("pk"):
        pool.setdefault(_row_key(prefix, row), []).append(row)
    out: dict[int, Model] = {}
    for row in getattr(old, related).order_by("pk"):
        matches = pool.get(_row_key(prefix, row))
        if matches:
            out[int(row.pk)] = matches.pop(0)
    return out


def _apply(prefix: str, related: str, formset: BaseInlineFormSet, old: CaseType, new: CaseType) -> int:
    """Applies a formset edited on ``old`` to ``new`` (a copy of it); returns how many rows changed."""
    if new.pk == old.pk:
        saved = formset.save()
        return len(saved) + len(formset.deleted_objects)
    copies = _copies(prefix, related, old, new)
    fields = [name for name in formset.form._meta.fields or () if name not in (formset.fk.name, "id")]
    model = formset.model
    changed = 0
    deletions: list[int] = []
    updates: list[tuple[int, dict[str, Any]]] = []
    creations: list[dict[str, Any]] = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        pk = form.instance.pk
        if not data:
            continue
        if data.get("DELETE"):
            if pk is not None:
                deletions.append(pk)
            continue
        if pk is None:
            creations.append(data)
        elif form.has_changed():
            updates.append((pk, data))
    for pk in deletions:
        if pk in copies:
            copies[pk].delete()
            changed += 1
    for pk, data in updates:
        target = copies.get(pk)
        if target is None:
            continue
        for name in fields:
            setattr(target, name, data[name])
        target.save()
        changed += 1
    for data in creations:
        model.objects.create(case_type=new, **{name: data[name] for name in fields})
        changed += 1
    return changed


def case_type_save(
    *,
    case_type: CaseType,
    form: CaseTypeForm,
    formsets: Sequence[tuple[str, Any, BaseInlineFormSet]],
    actor: Any,
) -> tuple[CaseType, bool]:
    """Saves a validated edit of ``case_type``: in place when no case uses it, otherwise as a new version
    (``services.case_type_revise`` for the fields, then the formsets applied to the copies of the old rows).
    Returns the type that holds the edit and whether anything changed."""
    changes = form.changes()
    changed_sets = [prefix for prefix, _caption, formset in formsets if formset.has_changed()]
    if not changes and not changed_sets:
        return case_type, False
    related = {prefix: name for prefix, _factory, _caption, name in FORMSETS}
    with transaction.atomic(), audit_as(actor):
        target = services.case_type_revise(case_type=case_type, changes=changes, actor=actor)
        rows = 0
        for prefix, _caption, formset in formsets:
            if prefix in changed_sets:
                rows += _apply(prefix, related[prefix], formset, case_type, target)
        if changed_sets:
            audit_record(
                action="case_type_changed",
                object_type="cases.casetype",
                object_id=str(target.pk),
                object_label=str(target),
                details={"parts": changed_sets, "rows": rows, "from_version": case_type.version},
            )
    return target, True


# --- pools --------------------------------------------------------------------------------------------------


def case_type_code_choices() -> list[tuple[str, str]]:
    """Each case-type code once, with the name of its newest version."""
    names: dict[str, str] = {}
    for code, name in CaseType.objects.order_by("code", "-version").values_list("code", "name"):
        names.setdefault(code, shown(name))
    return sorted(((code, name) for code, name in names.items()), key=lambda item: item[1].lower())


def officers() -> QuerySet[Any]:
    """Active accounts that may work cases (directly, through a role, or as superuser)."""
    work = Q(groups__permissions__codename="work_case", groups__permissions__content_type__app_label="cases") | Q(
        user_permissions__codename="work_case", user_permissions__content_type__app_label="cases"
    )
    return User.objects.filter(is_active=True).filter(work | Q(is_superuser=True)).distinct().order_by("username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.get_username()})" if full else str(obj.get_username())


class PoolForm(forms.ModelForm):
    case_type_code = forms.ChoiceField(label=_("Case type"), choices=())
    body = forms.ModelChoiceField(
        label=_("Body"),
        queryset=PublicBody.objects.order_by("name"),
        required=False,
        empty_label=_("Every body"),
        help_text=_("A pool for one body is used for its cases before the pool for every body."),
    )

    class Meta:
        model = Pool
        fields = ("name", "case_type_code", "body", "active")
        labels = {"name": _("Name"), "active": _("In use")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["case_type_code"].choices = case_type_code_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        code, body = data.get("case_type_code"), data.get("body")
        others = Pool.objects.filter(case_type_code=code, body=body)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if code and others.exists():
            raise forms.ValidationError(_("There is already a pool for this case type and body."))
        return data

    def validate_unique(self) -> None:
        """Checked in ``clean`` with a sentence of our own."""


class PoolMemberAddForm(forms.Form):
    officer = UserChoiceField(label=_("Officer"), queryset=User.objects.none())
    weight = forms.FloatField(
        label=_("Share of draws"),
        min_value=0,
        max_value=10,
        initial=1.0,
        help_text=_("1 is a full share; 0.5 half time."),
    )

    def __init__(self, *args: Any, pool: Pool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = officers().exclude(pool_memberships__pool=pool)  # type: ignore[attr-defined]


class PoolMemberForm(forms.ModelForm):
    class Meta:
        model = PoolMember
        fields = ("weight", "absent_until", "absence_reason")
        labels = {"weight": _("Share of draws"), "absent_until": _("Absent until"), "absence_reason": _("Reason")}
        widgets = {"absent_until": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["weight"].min_value = 0  # type: ignore[attr-defined]
        self.fields["weight"].widget.attrs.update({"min": "0", "step": "0.1"})
        _labelled(self)

    def clean_weight(self) -> float:
        weight = float(self.cleaned_data["weight"])
        if weight < 0:
            raise forms.ValidationError(_("A share cannot be negative."))
        return weight

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("absence_reason") and not data.get("absent_until"):
            self.add_error("absent_until", _("Say until when the officer is absent."))
        if data.get("absent_until") and not str(data.get("absence_reason") or "").strip():
            self.add_error("absence_reason", _("Say why the officer is absent."))
        return data


# --- recusals -------------------------------------------------------------------------------------------------


class RecusalForm(forms.Form):
    WHAT = (
        ("person", _("Person")),
        ("organisation", _("Organisation")),
        ("body", _("Public body")),
    )
    what = forms.ChoiceField(label=_("Conflict with"), choices=WHAT)
    target = forms.IntegerField(
        label=_("Whom"), error_messages={"required": _("Choose whom the conflict is with from the names found.")}
    )
    q = forms.CharField(label=_("Name"), max_length=200)
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("e.g. a family tie, a former employer, a shareholding."),
    )


# --- filters ----------------------------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    since = forms.DateField(label=_("Opened from"), required=False, widget=DATE)
    until = forms.DateField(label=_("Opened until"), required=False, widget=DATE)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise forms.ValidationError(_("The end of the period comes before its start."))
        return data


class SinceForm(forms.Form):
    since = forms.DateField(label=_("Allocations from"), required=False, widget=DATE)
