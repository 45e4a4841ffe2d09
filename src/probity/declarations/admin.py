"""Admin site: redaction profiles, validated against the declaration schema like the CLI and staff page do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from probity.declarations.models import RedactionProfile
from probity.declarations.publication.redaction import ProfileInvalid, validate_fields


class RedactionProfileForm(forms.ModelForm):
    class Meta:
        model = RedactionProfile
        fields = ["name", "description", "fields", "is_default"]

    def clean_fields(self) -> list[str]:
        value: Any = self.cleaned_data["fields"]
        if not isinstance(value, list):
            raise forms.ValidationError(_('Give a JSON list of paths, for example ["declarant.national_id"].'))
        try:
            return validate_fields(value)
        except ProfileInvalid as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(RedactionProfile)
class RedactionProfileAdmin(admin.ModelAdmin):
    form = RedactionProfileForm
    list_display = ("name", "is_default", "description")
