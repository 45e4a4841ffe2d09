"""Administration screens for the core domain; the audit log, runs and findings are read-only here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from probity.core.models import (
    APIToken,
    AuditEntry,
    DetectorRun,
    FamilyRelation,
    Finding,
    Identifier,
    Organisation,
    Person,
    PersonName,
    Position,
    PublicBody,
)


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
