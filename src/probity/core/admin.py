"""Administration screens for the core domain; the audit log, runs and findings are read-only here."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest

from probity.core.audit import actor_name, audit_record
from probity.core.models import (
    APIToken,
    AuditEntry,
    DetectorRun,
    FamilyRelation,
    Finding,
    Identifier,
    Job,
    Organisation,
    Person,
    PersonName,
    Position,
    PublicBody,
    Schedule,
)
from probity.core.scheduler import cron_trigger


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IdentifierInline(admin.TabularInline):
    model = Identifier
    fields = ("scheme", "issuer", "value")
    extra = 0


class PersonNameInline(admin.TabularInline):
    model = PersonName
    extra = 0


@admin.register(PublicBody)
class PublicBodyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "parent", "country")
    list_filter = ("kind",)
    search_fields = ("name",)
    autocomplete_fields = ("parent",)


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ("title", "body", "holder", "start_date", "end_date", "is_pep")
    list_filter = ("is_pep", "body__kind")
    search_fields = ("title", "body__name", "holder__name")
    autocomplete_fields = ("body", "holder")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("name", "birth_date", "nationality", "user")
    search_fields = ("name", "names__name")
    inlines = (PersonNameInline, IdentifierInline)
    autocomplete_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "jurisdiction", "founded")
    list_filter = ("kind",)
    search_fields = ("name", "names__name")
    inlines = (PersonNameInline, IdentifierInline)


@admin.register(FamilyRelation)
class FamilyRelationAdmin(admin.ModelAdmin):
    list_display = ("person", "kind", "relative")
    autocomplete_fields = ("person", "relative")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("sequence", "recorded_at", "actor", "action", "object_type", "object_id", "object_label")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "object_label")


@admin.register(DetectorRun)
class DetectorRunAdmin(ReadOnlyAdmin):
    list_display = (
        "detector_code",
        "started_at",
        "status",
        "subjects_checked",
        "flagged",
        "passed",
        "not_applicable",
        "duration_seconds",
        "started_by",
    )
    list_filter = ("detector_code", "status")


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ("detector_code", "subject_type", "subject_label", "outcome", "score", "triage")
    list_filter = ("detector_code", "outcome", "triage", "subject_type")
    search_fields = ("subject_label", "subject_id")


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at")
    exclude = ("token_hash",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tokens are created by their owner, who must see the secret once


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Jobs are read here; they are started, cancelled and retried on the Jobs pages, the API or the command."""

    list_display = ("pk", "kind", "status", "trigger", "requested_by_name", "queue", "created_at", "finished_at")
    list_filter = ("status", "kind", "trigger", "queue")
    search_fields = ("kind", "requested_by_name")
    date_hierarchy = "created_at"


class ScheduleAdminForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = ("code", "label", "kind", "parameters", "cron", "enabled")

    def clean_cron(self) -> str:
        cron = " ".join(str(self.cleaned_data.get("cron", "")).split())
        try:
            cron_trigger(cron)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cron


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "kind", "cron", "enabled", "last_run_at", "updated_by")
    list_filter = ("enabled", "kind")
    search_fields = ("code", "label")
    readonly_fields = ("last_run_at", "last_job", "updated_at", "updated_by")

    form = ScheduleAdminForm

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        obj.updated_by = actor_name(cast(User, request.user))
        super().save_model(request, obj, form, change)
        audit_record(
            action="update" if change else "create",
            object_type="core.schedule",
            object_id=str(obj.pk),
            object_label=obj.code,
            details={"changed": sorted(form.changed_data), "cron": obj.cron, "enabled": obj.enabled},
            actor=obj.updated_by,
        )
