"""Forms of the reporting pages: the channel's questionnaire built from its question definitions, and the
small forms reporters and case handlers fill in.

A question definition is a mapping (kept on the channel)::

    {"id": "what", "kind": "text" | "textarea" | "choice" | "multichoice" | "date" | "amount" | "file",
     "label": "What happened?", "label_zh_hans": "发生了什么？", "help": "...", "required": true,
     "choices": ["yes", "no"] or [{"value": "yes", "label": "Yes", "label_zh_hans": "是"}, ...],
     "show_if": {"question": "<id>", "equals": "<value>"}}

(``key``/``type`` are accepted for ``id``/``kind``; a label may also be ``{"en": ..., "zh-hans": ...}``.)

Conditional questions work without JavaScript: the questionnaire has two steps. The first asks every
question without a condition; the second asks the conditional questions whose condition the first
step's answers meet, the file questions, the attachments and the optional identity. The first step's
answers travel to the second as hidden fields (never in the session, which the database stores in
clear) and are validated again on submission.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from probity.reporting.models import Channel
from probity.reporting.services import questionnaire_validate

QUESTION_TYPES = ("text", "textarea", "choice", "multichoice", "date", "amount", "file")
FIELD_PREFIX = "q_"
TEXT_MAX_LENGTH = 20_000


def localised(value: Any) -> str:
    """A label typed by an administrator, in the reader's language when it was given in several."""
    if isinstance(value, Mapping):
        language = (get_language() or "en").lower()
        for code in (language, language.split("-")[0], "en"):
            if value.get(code):
                return str(value[code])
        return str(next(iter(value.values()), ""))
    return "" if value is None else str(value)


def question_attr(question: Any, name: str, default: Any = None) -> Any:
    """Reads a question given as a mapping or as an object with attributes."""
    if isinstance(question, Mapping):
        return question.get(name, default)
    return getattr(question, name, default)


def question_text(question: Any, name: str) -> str:
    """``label``/``help`` of a question or choice in the reader's language (``label_zh_hans`` …)."""
    language = (get_language() or "en").lower().replace("-", "_")
    for candidate in (f"{name}_{language}", f"{name}_{language.split('_')[0]}"):
        translated = question_attr(question, candidate)
        if translated:
            return localised(translated)
    return localised(question_attr(question, name))


def question_key(question: Any) -> str:
    return str(question_attr(question, "id") or question_attr(question, "key"))


def question_type(question: Any) -> str:
    kind = str(question_attr(question, "kind") or question_attr(question, "type") or "text")
    return kind if kind in QUESTION_TYPES else "text"


def question_condition(question: Any) -> tuple[str, str] | None:
    condition = question_attr(question, "show_if")
    if not condition:
        return None
    other = question_attr(condition, "question")
    expected = question_attr(condition, "equals")
    if other is None:
        return None
    return str(other), "" if expected is None else str(expected)


def is_first_step(question: Any) -> bool:
    return question_condition(question) is None and question_type(question) != "file"


def condition_met(question: Any, first_answers: Mapping[str, Any]) -> bool:
    condition = question_condition(question)
    if condition is None:
        return True
    other, expected = condition
    return str(first_answers.get(other, "") or "") == expected


class AccessibleFormMixin:
    """Links each field to its help text and errors (``aria-describedby``) and marks invalid fields."""

    def _describe(self) -> None:
        form: Any = self
        errors = form.errors if form.is_bound else {}
        for name, field in form.fields.items():
            bound = form[name]
            ids = []
            if field.help_text:
                ids.append(f"{bound.auto_id}_help")
            if name in errors:
                ids.append(f"{bound.auto_id}_errors")
                field.widget.attrs["aria-invalid"] = "true"
            else:
                field.widget.attrs.pop("aria-invalid", None)
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)
            else:
                field.widget.attrs.pop("aria-describedby", None)
            if field.required and not isinstance(field.widget, forms.HiddenInput):
                field.widget.attrs["aria-required"] = "true"

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self._describe()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked like a single file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


def question_field(question: Any, *, hidden: bool = False) -> forms.Field:
    """The form field for one question definition."""
    kind = question_type(question)
    label = question_text(question, "label") or question_key(question)
    help_text = question_text(question, "help")
    required = bool(question_attr(question, "required", False))
    common: dict[str, Any] = {"label": label, "help_text": help_text, "required": required}
    if kind in ("choice", "multichoice"):
        choices = [_choice(c) for c in question_attr(question, "choices", []) or []]
        if kind == "multichoice":
            field: forms.Field = forms.MultipleChoiceField(
                choices=choices, widget=forms.CheckboxSelectMultiple, **common
            )
        else:
            field = forms.ChoiceField(choices=[("", "—"), *choices], **common)
    elif kind == "date":
        field = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    elif kind == "amount":
        field = forms.DecimalField(
            max_digits=18,
            decimal_places=2,
            min_value=0,
            widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            **common,
        )
    elif kind == "file":
        field = MultipleFileField(**common)
    elif kind == "textarea":
        field = forms.CharField(max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 6}), **common)
    else:
        field = forms.CharField(max_length=TEXT_MAX_LENGTH, **common)
    if hidden and kind == "multichoice":
        field.widget = forms.MultipleHiddenInput()
        field.help_text = ""
    elif hidden and kind != "file":
        field.widget = forms.HiddenInput()
        field.help_text = ""
    return field


# Plain choice values used by the default questionnaires, so they read well in every language.
CHOICE_LABELS = {"yes": _("Yes"), "no": _("No"), "unknown": _("I do not know")}


def _choice(choice: Any) -> tuple[str, str]:
    if isinstance(choice, list | tuple):
        return str(choice[0]), localised(choice[1] if len(choice) > 1 else choice[0])
    if isinstance(choice, Mapping):
        value = str(choice.get("value", ""))
        return value, question_text(choice, "label") or value
    value = str(choice)
    return value, str(CHOICE_LABELS.get(value, value))


class QuestionnaireStepOneForm(AccessibleFormMixin, forms.Form):
    """Every question without a condition (files come in the second step)."""

    def __init__(self, *args: Any, questions: Sequence[Any], hidden: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_%s")
        super().__init__(*args, **kwargs)
        self.questions = [q for q in questions if is_first_step(q)]
        for question in self.questions:
            self.fields[FIELD_PREFIX + question_key(question)] = question_field(question, hidden=hidden)
        self._describe()

    def answers(self) -> dict[str, Any]:
        return {question_key(q): _plain(self.cleaned_data.get(FIELD_PREFIX + question_key(q))) for q in self.questions}


class QuestionnaireStepTwoForm(AccessibleFormMixin, forms.Form):
    """Conditional questions that apply, file questions, attachments, optional identity."""

    identity_name = forms.CharField(
        label=_("Your name (optional)"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to report anonymously. You can add it later."),
    )
    identity_contact = forms.CharField(
        label=_("How to reach you (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example a telephone number or a postal address. Never shown to the person you report."),
    )
    attachments = MultipleFileField(label=_("Files (optional)"), required=False)

    def __init__(
        self,
        *args: Any,
        questions: Sequence[Any],
        first_answers: Mapping[str, Any],
        max_files: int = 10,
        max_file_bytes: int = 20 * 1024 * 1024,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", "id_%s")
        super().__init__(*args, **kwargs)
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.fields["attachments"].help_text = _(
            "Up to %(count)d files of at most %(size)d MB each. Photos and PDF files get a copy without "
            "hidden metadata (author, camera, location); other files are kept as they are."
        ) % {"count": max_files, "size": max_file_bytes // (1024 * 1024)}
        self.questions = [q for q in questions if not is_first_step(q) and condition_met(q, first_answers)]
        # Questions first, then the identity, then every file input last: if an upload is stopped at a
        # limit, the fields before it have still been read.
        question_fields = {FIELD_PREFIX + question_key(q): question_field(q) for q in self.questions}
        files = {name: field for name, field in question_fields.items() if isinstance(field, MultipleFileField)}
        others = {name: field for name, field in question_fields.items() if name not in files}
        attachments = self.fields.pop("attachments")
        self.fields = {**others, **self.fields, **files, "attachments": attachments}
        self._describe()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        files = self.uploaded_files()
        if len(files) > self.max_files:
            self.add_error("attachments", _("Send at most %(count)d files.") % {"count": self.max_files})
        for upload in files:
            if upload.size is not None and upload.size > self.max_file_bytes:
                self.add_error(
                    "attachments",
                    _("A file is larger than %(size)d MB.") % {"size": self.max_file_bytes // (1024 * 1024)},
                )
                break
        return data

    def answers(self) -> dict[str, Any]:
        return {
            question_key(q): _plain(self.cleaned_data.get(FIELD_PREFIX + question_key(q)))
            for q in self.questions
            if question_type(q) != "file"
        }

    def uploaded_files(self) -> list[UploadedFile]:
        files: list[UploadedFile] = []
        for name, field in self.fields.items():
            if isinstance(field, MultipleFileField):
                files.extend(self.cleaned_data.get(name) or [])
        return files

    def identity(self) -> dict[str, str] | None:
        name = (self.cleaned_data.get("identity_name") or "").strip()
        contact = (self.cleaned_data.get("identity_contact") or "").strip()
        if not name and not contact:
            return None
        return {"name": name, "contact": contact}


def _plain(value: Any) -> Any:
    """Answers as JSON-friendly values: dates as ISO strings, amounts as strings."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return value
    return str(value) if not isinstance(value, str) else value


class ReceiptForm(AccessibleFormMixin, forms.Form):
    receipt = forms.CharField(
        label=_("Your receipt"),
        max_length=64,
        help_text=_("The 16 digits you were given when you filed the report. Spaces do not matter."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._describe()

    def clean_receipt(self) -> str:
        receipt = "".join(ch for ch in self.cleaned_data["receipt"] if not ch.isspace() and ch != "-")
        if not (receipt.isascii() and receipt.isdigit()) or len(receipt) != 16:
            raise forms.ValidationError(_("A receipt has 16 digits."))
        return receipt


class MessageForm(AccessibleFormMixin, forms.Form):
    text = forms.CharField(
        label=_("Message"), max_length=TEXT_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    attachments = MultipleFileField(label=_("Files (optional)"), required=False)

    def __init__(self, *args: Any, with_files: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_files:
            del self.fields["attachments"]
        self._describe()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("text") or "").strip() and not data.get("attachments"):
            self.add_error("text", _("Write a message or add a file."))
        return data


class IdentityForm(AccessibleFormMixin, forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    contact = forms.CharField(
        label=_("How to reach you (optional)"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._describe()


class TranscriptCheckForm(AccessibleFormMixin, forms.Form):
    """The reporter agrees with the staff-typed transcript of their oral report, or corrects it."""

    agreed = forms.ChoiceField(
        label=_("Is the transcript of your oral report correct?"),
        choices=[("yes", _("Yes, it is correct")), ("no", _("No, it needs corrections"))],
    )
    comment = forms.CharField(
        label=_("Corrections"),
        max_length=TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Needed when the transcript is not correct."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._describe()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("agreed") == "no" and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Say what is wrong in the transcript."))
        return data


# --- staff -----------------------------------------------------------------------------------


class KeyPasswordForm(AccessibleFormMixin, forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Reports are encrypted; your password unlocks your key for this session."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._describe()


class KeyRecoveryForm(AccessibleFormMixin, forms.Form):
    recovery_key = forms.CharField(
        label=_("Recovery key"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Your current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._describe()


class ReplyForm(MessageForm):
    """A handler's message to the reporter; it may count as the feedback the law requires."""

    feedback = forms.BooleanField(
        label=_("This reply is the feedback on the action taken (due within the channel's feedback period)"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        attachments = self.fields.pop("attachments")
        self.fields["attachments"] = attachments  # files stay last: an upload stopped at a limit loses nothing
        self._describe()


class StatusForm(AccessibleFormMixin, forms.Form):
    status = forms.ChoiceField(label=_("Status"))
    sub_status = forms.ChoiceField(label=_("Sub-status"), required=False)

    def __init__(
        self,
        *args: Any,
        status_choices: Iterable[tuple[str, Any]],
        sub_status_choices: Iterable[tuple[str, Any]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = list(status_choices)  # type: ignore[attr-defined]
        self.fields["sub_status"].choices = list(sub_status_choices)  # type: ignore[attr-defined]
        self._describe()


class TriageNoteForm(AccessibleFormMixin, forms.Form):
    note = forms.CharField(
        label=_("Triage note"), max_length=TEXT_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    retaliation_risk = forms.ChoiceField(label=_("Risk of retaliation against the reporter"), required=False)
    retaliation_notes = forms.CharField(
        label=_("Why (optional)"), max_length=TEXT_MAX_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, risk_choices: Iterable[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["retaliation_risk"].choices = [("", "—"), *risk_choices]  # type: ignore[attr-defined]
        self._describe()


class RecipientForm(AccessibleFormMixin, forms.Form):
    recipient = forms.ChoiceField(label=_("Case handler"))
    reason = forms.CharField(label=_("Reason"), max_length=1000, required=False)

    def __init__(self, *args: Any, recipients: Iterable[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipient"].choices = [("", "—"), *recipients]  # type: ignore[attr-defined]
        self._describe()


class DisclosureRequestForm(AccessibleFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why the reporter's identity is needed"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._describe()


class DisclosureDecisionForm(AccessibleFormMixin, forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("approve", _("Approve")), ("refuse", _("Refuse"))])
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._describe()


class ClosureForm(AccessibleFormMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"))
    action_taken = forms.CharField(
        label=_("Action taken"), max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, outcome_choices: Iterable[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = [("", "—"), *outcome_choices]  # type: ignore[attr-defined]
        self._describe()


class OralIntakeForm(AccessibleFormMixin, forms.Form):
    channel = forms.ChoiceField(label=_("Channel"))
    kind = forms.ChoiceField(
        label=_("How the report was made"), choices=[("oral", _("In person")), ("phone", _("By telephone"))]
    )
    transcript = forms.CharField(
        label=_("Transcript"),
        max_length=TEXT_MAX_LENGTH * 5,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("The reporter can read and confirm it later with their receipt."),
    )
    identity_name = forms.CharField(label=_("Reporter's name (optional)"), max_length=200, required=False)
    identity_contact = forms.CharField(label=_("How to reach the reporter (optional)"), max_length=500, required=False)

    def __init__(self, *args: Any, channel_choices: Iterable[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", "—"), *channel_choices]  # type: ignore[attr-defined]
        self._describe()


class ChannelForm(AccessibleFormMixin, forms.Form):
    """An administrator's settings for one channel; questions are edited as JSON (documented format)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    questions = forms.JSONField(
        label=_("Questions (JSON)"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_(
            "A list of questions: id, kind (text, textarea, choice, multichoice, "
            "date, amount, file), label, label_zh_hans, help, required, "
            "choices, show_if."
        ),
    )
    acknowledge_days = forms.IntegerField(label=_("Days to acknowledge"), min_value=1, max_value=90)
    feedback_days = forms.IntegerField(label=_("Days to give feedback"), min_value=1, max_value=365)
    recipients = forms.MultipleChoiceField(
        label=_("Recipients"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Case handlers who receive every new report of this channel (only those with a key pair)."),
    )
    custodians = forms.MultipleChoiceField(
        label=_("Identity custodians"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("They decide whether a handler may learn a reporter's identity (only those with a key pair)."),
    )
    active = forms.BooleanField(label=_("Open for reports"), required=False)

    def __init__(
        self,
        *args: Any,
        slug_needed: bool = False,
        people: Iterable[tuple[str, str]] = (),
        handlers: Iterable[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipients"].choices = list(handlers)  # type: ignore[attr-defined]
        self.fields["custodians"].choices = list(people)  # type: ignore[attr-defined]
        if slug_needed:
            self.fields = {
                "slug": forms.SlugField(
                    label=_("Code"), max_length=50, help_text=_("Letters, digits and hyphens; used in the address.")
                ),
                **self.fields,
            }
        self._describe()

    def clean_slug(self) -> str:
        slug = str(self.cleaned_data["slug"])
        if Channel.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("A channel with this code exists already."))
        return slug

    def clean_questions(self) -> list[dict[str, Any]]:
        try:
            return questionnaire_validate(questionnaire=self.cleaned_data["questions"])
        except ValueError as exc:
            raise forms.ValidationError(_("The questions are not valid: %(reason)s") % {"reason": exc}) from exc
