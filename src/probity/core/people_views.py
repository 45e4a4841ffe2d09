"""Pages for people and organisations: search, one page each across every source, and their management
(create, edit, merge, split, undo, family ties, positions, public bodies, bulk import)."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from probity.core import people, selectors
from probity.core.audit import audit_record
from probity.core.models import AuditEntry, FamilyRelation, Organisation, Person, Position, PublicBody
from probity.core.profiles import ftm_neighbourhood, graph_svg, profile_build
from probity.core.rules import visible_to

PAGE_SIZE = 50
KINDS: dict[str, type[Person] | type[Organisation]] = {"person": Person, "organisation": Organisation}


class PersonForm(forms.ModelForm):
    national_id = forms.CharField(
        label=gettext_lazy("National identity number"),
        required=False,
        max_length=64,
        help_text=gettext_lazy("Stored only as a keyed hash; it can be matched but never read back."),
    )
    national_id_issuer = forms.CharField(
        label=gettext_lazy("Issuing country"), required=False, max_length=2, help_text=gettext_lazy("e.g. GB")
    )

    class Meta:
        model = Person
        fields = ("name", "birth_date", "gender", "nationality")
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}


class OrganisationForm(forms.ModelForm):
    registry_number = forms.CharField(label=gettext_lazy("Company registry number"), required=False, max_length=64)
    registry_issuer = forms.CharField(
        label=gettext_lazy("Register (country)"), required=False, max_length=2, help_text=gettext_lazy("e.g. GB")
    )

    class Meta:
        model = Organisation
        fields = ("name", "kind", "jurisdiction", "founded", "dissolved", "address")
        widgets = {
            "founded": forms.DateInput(attrs={"type": "date"}),
            "dissolved": forms.DateInput(attrs={"type": "date"}),
        }


class PublicBodyForm(forms.ModelForm):
    class Meta:
        model = PublicBody
        fields = ("name", "kind", "parent", "country")


class PositionForm(forms.ModelForm):
    class Meta:
        model = Position
        fields = ("body", "title", "start_date", "end_date", "is_pep")
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }


class ImportForm(forms.Form):
    FORMATS = (
        ("people", gettext_lazy("People (CSV)")),
        ("organisations", gettext_lazy("Organisations (CSV)")),
        ("family", gettext_lazy("Family ties (CSV)")),
        ("ftm", gettext_lazy("FollowTheMoney entities (JSON lines)")),
    )
    what = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=FORMATS)
    file = forms.FileField(label=gettext_lazy("File"))


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _kind_model(kind: str) -> type[Person] | type[Organisation]:
    if kind not in KINDS:
        raise Http404
    return KINDS[kind]


def _may(request: HttpRequest, action: str, model: type[Model]) -> bool:
    return request.user.has_perm(f"core.{action}_{model._meta.model_name}")


def _require(request: HttpRequest, action: str, model: type[Model]) -> None:
    if not _may(request, action, model):
        raise PermissionDeniedPage


class PermissionDeniedPage(Exception):
    """Raised to answer 403; views catch it through ``_forbidden_on_refusal``."""


def _subject(request: HttpRequest, kind: str, pk: int) -> Person | Organisation:
    model = _kind_model(kind)
    return cast(Person | Organisation, get_object_or_404(visible_to(request.user, model.objects.all()), pk=pk))


def _subject_url(subject: Model) -> str:
    name = "core:person" if isinstance(subject, Person) else "core:organisation"
    return reverse(name, args=[subject.pk])


def _guarded(view: Any) -> Any:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response: HttpResponse = view(request, *args, **kwargs)
        except PermissionDeniedPage:
            return render(request, "core/people/forbidden.html", status=403)
        return response

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- lists and pages -------------------------------------------------------------------------------------


@login_required
def people_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    queryset = selectors.search_by_name(queryset=visible_to(request.user, Person.objects.all()), query=query)
    context = {
        "page": _page(request, queryset.order_by("name", "pk")),
        "q": query,
        "kind": "person",
        "may_add": _may(request, "add", Person),
    }
    return render(request, "core/people/list.html", context)


@login_required
@permission_required("core.view_organisation", raise_exception=True)
def organisations_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    queryset = selectors.search_by_name(queryset=Organisation.objects.all(), query=query)
    context = {
        "page": _page(request, queryset.prefetch_related("identifiers").order_by("name", "pk")),
        "q": query,
        "kind": "organisation",
        "may_add": _may(request, "add", Organisation),
    }
    return render(request, "core/people/list.html", context)


@login_required
def profile_page(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The page of one person or organisation across every source."""
    subject = _subject(request, kind, pk)
    profile = profile_build(subject=subject, user=request.user)
    may_change = _may(request, "change", type(subject))
    context = {
        "subject": subject,
        "kind": kind,
        "profile": profile,
        "graph": graph_svg(profile=profile),
        "may_change": may_change,
        "undoable": [
            {"entry": entry, "sentence": people.event_sentence(entry)}
            for entry in (people.undoable_entries(subject=subject, limit=5) if may_change else [])
        ],
    }
    return render(request, "core/people/profile.html", context)


@login_required
def profile_export(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The neighbourhood of a person or organisation as FollowTheMoney JSON lines (audited)."""
    subject = _subject(request, kind, pk)
    entities = ftm_neighbourhood(profile=profile_build(subject=subject, user=request.user))
    audit_record(
        action=AuditEntry.Action.EXPORT,
        object_type=subject._meta.label_lower,
        object_id=str(subject.pk),
        object_label=str(subject),
        details={"format": "ftm", "entities": len(entities)},
    )
    body = "".join(json.dumps(entity, ensure_ascii=False, sort_keys=True) + "\n" for entity in entities)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{subject.pk}.ftm.json"'
    return response


# --- create and edit -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@_guarded
def subject_edit(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    model = _kind_model(kind)
    subject = _subject(request, kind, pk) if pk is not None else None
    _require(request, "change" if subject else "add", model)
    form_class = PersonForm if model is Person else OrganisationForm
    form = form_class(request.POST or None, instance=subject)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        try:
            if model is Person:
                saved: Model = people.person_save(actor=_user(request), person=cast(Person | None, subject), **values)
            else:
                saved = people.organisation_save(
                    actor=_user(request), organisation=cast(Organisation | None, subject), **values
                )
        except people.RecordRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("%(name)s was saved.") % {"name": saved})
            return redirect(_subject_url(saved))
    return render(request, "core/people/edit.html", {"form": form, "subject": subject, "kind": kind})


def _candidates(request: HttpRequest, subject: Model) -> tuple[str, QuerySet[Any] | None]:
    query = request.GET.get("q", "").strip()
    if not query:
        return query, None
    queryset = visible_to(request.user, type(subject)._default_manager.exclude(pk=subject.pk))
    return query, selectors.search_by_name(queryset=queryset, query=query).order_by("name", "pk")[:20]


@login_required
@require_http_methods(["GET", "POST"])
@_guarded
def subject_merge(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Merge another record into this one (found by name); refused with the reason when they differ."""
    subject = _subject(request, kind, pk)
    _require(request, "change", type(subject))
    if request.method == "POST":
        other = get_object_or_404(
            visible_to(request.user, type(subject)._default_manager.all()), pk=request.POST.get("merged", "0") or 0
        )
        try:
            entry = people.record_merge(actor=_user(request), keep=subject, merged=other)
        except people.RecordRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, people.event_sentence(entry))
            return redirect(_subject_url(subject))
    query, candidates = _candidates(request, subject)
    return render(
        request,
        "core/people/merge.html",
        {"subject": subject, "kind": kind, "q": query, "candidates": candidates},
    )


@login_required
@require_http_methods(["GET", "POST"])
@_guarded
def subject_split(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Split records off this one into a new record (a person or organisation that was wrongly merged)."""
    subject = _subject(request, kind, pk)
    _require(request, "change", type(subject))
    if request.method == "POST":
        try:
            created, entry = people.record_split(
                actor=_user(request),
                source=subject,
                name=request.POST.get("name", ""),
                records=request.POST.getlist("records"),
            )
        except people.RecordRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, people.event_sentence(entry))
            return redirect(_subject_url(created))
    groups = [
        {"title": ref.title, "rows": [{"token": f"{ref.label}:{row.pk}", "label": str(row)} for row in rows]}
        for ref, rows in people.referencing_rows(subject)
    ]
    return render(request, "core/people/split.html", {"subject": subject, "kind": kind, "groups": groups})


@login_required
@require_POST
@_guarded
def undo(request: HttpRequest, sequence: int) -> HttpResponse:
    entry = get_object_or_404(AuditEntry, sequence=sequence)
    model = KINDS.get(entry.object_type.removeprefix("core."))
    if model is None:
        raise Http404
    _require(request, "change", model)
    try:
        people.record_undo(actor=_user(request), sequence=sequence)
    except people.RecordRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The change in audit entry %(n)s was undone.") % {"n": sequence})
    target = model._default_manager.filter(pk=entry.object_id).first()
    return redirect(_subject_url(target) if target else reverse("core:people"))


@login_required
@require_http_methods(["GET", "POST"])
@_guarded
def family_add(request: HttpRequest, pk: int) -> HttpResponse:
    person = cast(Person, _subject(request, "person", pk))
    _require(request, "add", FamilyRelation)
    if request.method == "POST":
        relative = get_object_or_404(
            visible_to(request.user, Person.objects.all()), pk=request.POST.get("relative") or 0
        )
        try:
            people.family_relation_add(
                actor=_user(request), person=person, relative=relative, kind=request.POST.get("relation", "")
            )
        except people.RecordRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, _("The family tie was recorded."))
            return redirect(_subject_url(person))
    query, candidates = _candidates(request, person)
    return render(
        request,
        "core/people/family.html",
        {
            "subject": person,
            "kind": "person",
            "q": query,
            "candidates": candidates,
            "relations": FamilyRelation.Kind.choices,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@_guarded
def position_edit(request: HttpRequest, pk: int, position_id: int | None = None) -> HttpResponse:
    person = cast(Person, _subject(request, "person", pk))
    position = get_object_or_404(Position, pk=position_id, holder=person) if position_id else None
    _require(request, "change" if position else "add", Position)
    form = PositionForm(request.POST or None, instance=position)
    if request.method == "POST" and form.is_valid():
        people.position_save(actor=_user(request), position=position, holder=person, **form.cleaned_data)
        messages.success(request, _("The position was saved."))
        return redirect(_subject_url(person))
    return render(request, "core/people/position.html", {"form": form, "subject": person, "kind": "person"})


@login_required
@require_http_methods(["GET", "POST"])
@_guarded
def body_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    body = get_object_or_404(PublicBody, pk=pk) if pk else None
    _require(request, "change" if body else "add", PublicBody)
    form = PublicBodyForm(request.POST or None, instance=body)
    if request.method == "POST" and form.is_valid():
        try:
            people.public_body_save(actor=_user(request), body=body, **form.cleaned_data)
        except ValidationError as error:  # a body placed under itself
            for field_name, problems in error.message_dict.items():
                form.add_error(field_name if field_name in form.fields else None, problems)
        else:
            messages.success(request, _("The public body was saved."))
            return redirect("core:bodies")
    return render(request, "core/people/body.html", {"form": form, "body": body})


@login_required
@require_http_methods(["GET", "POST"])
@_guarded
def records_import(request: HttpRequest) -> HttpResponse:
    """Bulk import from CSV or FollowTheMoney: good rows kept, broken rows listed with their line."""
    _require(request, "add", Person)
    _require(request, "add", Organisation)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        what = form.cleaned_data["what"]
        try:
            if what == "ftm":
                report = people.records_import_ftm(actor=_user(request), stream=upload, source_name=upload.name)
            else:
                report = people.records_import_csv(
                    actor=_user(request), kind=what, stream=upload, source_name=upload.name
                )
        except people.RecordRefused as refusal:
            form.add_error("file", str(refusal))
    context = {
        "form": form,
        "report": report,
        "columns": {kind: ", ".join(columns) for kind, columns in people.CSV_COLUMNS.items()},
    }
    return render(request, "core/people/import.html", context)
