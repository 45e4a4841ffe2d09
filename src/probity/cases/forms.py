"""Forms of the cases pages; labels and messages are translatable. Choices that depend on the catalogue (case
types, statuses, outcomes, document types) or on the officers who may work a case are given by the view."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from probity.cases.models import OUTCOME_FIELDS, Case, CaseType, DocumentType, OutcomeType, StatusType
from probity.cases.names import shown
from probity.core.models import PublicBody

Choices = list[tuple[str, Any]]

# The labels of the details an outcome of some kinds needs (``models.OUTCOME_FIELDS``), in the reader's language.
DETAIL_LABELS: dict[str, Any] = {
    "amount": _("Amount of the fine"),
    "amount_frozen": _("Amount frozen"),
    "amount_confiscated": _("Amount confiscated"),
    "amount_returned": _("Amount returned"),
    "authority": _("Authority referred to"),
    "years": _("Years of debarment"),
}
DETAIL_PREFIX = "detail_"


def officer_label(user: User) -> str:
    """How a person reads an officer: their full name and user name, or the user name alone."""
    full = user.get_full_name().strip()
    return f"{full} ({user.get_username()})" if full else user.get_username()


class OfficerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return officer_label(obj)


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- lists -------------------------------------------------------------------------------------------------


class CaseFilterForm(forms.Form):
    """The filters of the list of cases (all optional; every one uses an indexed column)."""

    STATE_CHOICES = (("", _("Open and closed")), ("open", _("Open")), ("closed", _("Closed")))

    q = forms.CharField(
        label=_("Reference or title"),
        required=False,
        max_length=200,
        help_text=_("A reference (CASE-2026-000001, or its beginning) or words of the title."),
    )
    case_type = forms.ChoiceField(label=_("Type"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False)
    state = forms.ChoiceField(label=_("Open or closed"), required=False, choices=STATE_CHOICES)
    overdue = forms.BooleanField(label=_("Only overdue cases"), required=False)

    def __init__(self, *args: Any, types: Choices, statuses: Choices, officers: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        any_choice: Choices = [("", _("Any"))]
        self.fields["case_type"].choices = any_choice + types  # type: ignore[attr-defined]
        self.fields["status"].choices = any_choice + statuses  # type: ignore[attr-defined]
        self.fields["assignee"].choices = (  # type: ignore[attr-defined]
            any_choice + [("me", _("Me")), ("none", _("Nobody yet"))] + officers
        )


class FindingFilterForm(forms.Form):
    detector = forms.ChoiceField(label=_("Detector"), required=False)

    def __init__(self, *args: Any, detectors: Mapping[str, Any], **kwargs: Any) -> None:
        """``detectors``: each detector's code and title; a reader chooses by the title (the code is the
        value)."""
        super().__init__(*args, **kwargs)
        self.fields["detector"].choices = [("", _("Any"))] + [  # type: ignore[attr-defined]
            (code, str(title) or code) for code, title in detectors.items()
        ]


# --- opening -----------------------------------------------------------------------------------------------


def case_type_choices(types: Iterable[CaseType]) -> Choices:
    return [(str(t.pk), f"{shown(t.name)} (v{t.version})") for t in types]


class CaseOpenForm(forms.Form):
    case_type = forms.ChoiceField(label=_("Type"))
    title = forms.CharField(label=_("Title"), max_length=300)
    summary = forms.CharField(label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    body = forms.ModelChoiceField(
        label=_("Public body concerned"),
        queryset=PublicBody.objects.order_by("name"),
        required=False,
        empty_label=_("None"),
        help_text=_("Officers are drawn from the pool of this body when it has one."),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Case.Priority.choices, initial=Case.Priority.NORMAL)
    complexity = forms.IntegerField(
        label=_("Complexity"), min_value=1, max_value=5, initial=1, help_text=_("1 (simple) to 5")
    )

    def __init__(self, *args: Any, types: Sequence[CaseType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.types = {str(t.pk): t for t in types}
        self.fields["case_type"].choices = case_type_choices(types)  # type: ignore[attr-defined]

    def clean_case_type(self) -> CaseType:
        return self.types[self.cleaned_data["case_type"]]


class PromoteForm(forms.Form):
    """Opens a new case from the chosen findings, or joins them to an open case given by its reference."""

    MODE_CHOICES = (("new", _("Open a new case")), ("join", _("Join them to an open case")))

    findings = forms.TypedMultipleChoiceField(label=_("Findings"), coerce=int, choices=())
    mode = forms.ChoiceField(label=_("What to do"), choices=MODE_CHOICES, initial="new", widget=forms.HiddenInput)
    case_type = forms.ChoiceField(label=_("Type of the new case"), required=False)
    title = forms.CharField(
        label=_("Title of the new case"),
        required=False,
        max_length=300,
        help_text=_("Left empty: the subject and detector of the first finding."),
    )
    reference = forms.CharField(label=_("Reference of the open case"), required=False, max_length=32)

    def __init__(self, *args: Any, types: Sequence[CaseType], finding_ids: Iterable[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.types = {t.code: t for t in types}
        self.fields["findings"].choices = [(pk, str(pk)) for pk in finding_ids]  # type: ignore[attr-defined]
        self.fields["case_type"].choices = [("", _("Chosen from the findings"))] + [  # type: ignore[attr-defined]
            (t.code, shown(t.name)) for t in types
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == "join":
            reference = (data.get("reference") or "").strip().upper()
            if not reference:
                self.add_error("reference", _("Give the reference of the case to join them to."))
            data["reference"] = reference
        return data


# --- working a case ----------------------------------------------------------------------------------------


class AssignForm(forms.Form):
    officer = OfficerChoiceField(label=_("Officer"), queryset=User.objects.none())
    reason = forms.CharField(
        label=_("Reason for assigning by hand"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Assignments by hand are counted on the allocation report."),
    )

    def __init__(self, *args: Any, officers: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = officers  # type: ignore[attr-defined]


class DrawForm(forms.Form):
    allow_single = forms.BooleanField(
        label=_("Accept a draw with a single eligible officer"),
        required=False,
        help_text=_("A pool of one is no draw; the register records that it was accepted."),
    )


class StatusForm(forms.Form):
    status = forms.ModelChoiceField(label=_("New status"), queryset=StatusType.objects.none())
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, statuses: QuerySet[StatusType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].queryset = statuses  # type: ignore[attr-defined]
        self.fields["status"].label_from_instance = lambda s: shown(s.name)  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))
    handlers_only = forms.BooleanField(
        label=_("Only the case's officers may read it"),
        required=False,
        initial=True,
        help_text=_("The assigned officer and those who allocate or oversee cases."),
    )


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    assignee = OfficerChoiceField(
        label=_("Assigned to"), queryset=User.objects.none(), required=False, empty_label=_("The case's officer")
    )
    due_on = forms.DateField(label=_("Due on"), required=False, widget=_date_input())

    def __init__(self, *args: Any, officers: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = officers  # type: ignore[attr-defined]

    def clean_due_on(self) -> Any:
        due = self.cleaned_data.get("due_on")
        if due is not None and due < timezone.localdate():
            raise forms.ValidationError(_("A task cannot be due in the past."))
        return due


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("File"))
    document_type = forms.ModelChoiceField(
        label=_("Kind of document"), queryset=DocumentType.objects.none(), required=False, empty_label=_("Other")
    )

    def __init__(self, *args: Any, document_types: QuerySet[DocumentType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document_type"].queryset = document_types  # type: ignore[attr-defined]
        self.fields["document_type"].label_from_instance = lambda d: shown(d.name)  # type: ignore[attr-defined]


def detail_fields(kinds: Iterable[str]) -> list[tuple[str, str, list[str]]]:
    """The details the given outcome kinds need: (key, model label, kinds that need it), each key once."""
    found: dict[str, tuple[str, list[str]]] = {}
    for kind in kinds:
        for key, label in OUTCOME_FIELDS.get(kind, ()):
            found.setdefault(key, (label, []))[1].append(kind)
    return [(key, label, needed_by) for key, (label, needed_by) in found.items()]


class OutcomeForm(forms.Form):
    """Proposes an outcome. The details some kinds need (an amount for a fine, an authority for a referral…)
    are all shown, each with a hint saying which outcome needs it; the service refuses a missing one."""

    outcome_type = forms.ModelChoiceField(label=_("Outcome"), queryset=OutcomeType.objects.none())
    reasoning = forms.CharField(label=_("Reasoning"), widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, outcome_types: QuerySet[OutcomeType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome_type"].queryset = outcome_types  # type: ignore[attr-defined]
        self.fields["outcome_type"].label_from_instance = lambda o: shown(o.name)  # type: ignore[attr-defined]
        kinds = {str(o.kind) for o in outcome_types}
        names: dict[str, list[str]] = {}
        for outcome in outcome_types:
            names.setdefault(str(outcome.kind), []).append(shown(outcome.name))
        for key, label, needed_by in detail_fields(kinds):
            outcomes = ", ".join(name for kind in needed_by for name in names.get(kind, ()))
            self.fields[DETAIL_PREFIX + key] = forms.CharField(
                label=DETAIL_LABELS.get(key, label),
                required=False,
                max_length=300,
                help_text=gettext("Only for: %(outcomes)s.") % {"outcomes": outcomes},
                widget=forms.TextInput(
                    attrs={
                        "data-outcome-kinds": " ".join(needed_by),
                        "inputmode": "decimal" if key.startswith("amount") or key == "years" else "text",
                    }
                ),
            )

    def details(self) -> dict[str, str]:
        """The details filled in, by their key in ``OUTCOME_FIELDS``."""
        return {
            name[len(DETAIL_PREFIX) :]: value.strip()
            for name, value in self.cleaned_data.items()
            if name.startswith(DETAIL_PREFIX) and value and value.strip()
        }

    def detail_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(DETAIL_PREFIX)]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith(DETAIL_PREFIX)]


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed to send the outcome back; optional to approve it."),
    )
