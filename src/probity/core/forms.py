"""Forms of the web UI; labels and messages are translatable."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from probity.core.models import Finding


class SignInForm(AuthenticationForm):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    error_messages = {
        "invalid_login": _("The user name or password is not correct. Both are case-sensitive."),
        "inactive": _("This account is inactive."),
    }


class OTPCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Six-digit code from your authenticator app"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit():
            raise forms.ValidationError(_("The code has digits only."))
        return code


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("What the token is for"), max_length=100)


class TriageForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=Finding.Triage.choices)
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == Finding.Triage.DISMISSED and not data.get("reason", "").strip():
            self.add_error("reason", _("Say why the finding is dismissed."))
        return data


class FindingFilterForm(forms.Form):
    detector = forms.CharField(label=_("Detector"), required=False)
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("Any"))] + list(Finding.Outcome.choices)
    )
    triage = forms.ChoiceField(
        label=_("Triage"), required=False, choices=[("", _("Any"))] + list(Finding.Triage.choices)
    )
