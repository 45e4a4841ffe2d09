"""``probity people …``: manage people and organisations from the command line — list, show, create, edit,
merge, split, undo, and bulk import from CSV or FollowTheMoney with a progress bar."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _g
from tqdm import tqdm

from probity.core import people, selectors
from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.core.models import Organisation, Person
from probity.core.profiles import profile_build

ACTOR = "system:cli"


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _g("%(value)s is not a date (write it as YYYY-MM-DD).") % {"value": text}, returncode=2
        ) from None


class Command(SubcommandCommand):
    help = (
        "Manage people and organisations: list, show, create, edit, merge, split and undo, and import them "
        "from CSV or FollowTheMoney."
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        listing = subcommands.add(
            "list", self.list_records, help="people (or organisations) whose name contains a text"
        )
        listing.add_argument("query", nargs="?", default="", help="part of a name, in any script")
        listing.add_argument("--organisations", action="store_true", help="organisations instead of people")
        listing.add_argument("-n", type=int, default=50, help="how many (default 50)")

        show = subcommands.add("show", self.show, help="the page of one person or organisation, as text")
        show.add_argument("id", type=int)
        show.add_argument("--organisation", action="store_true", help="the id is an organisation's")

        create = subcommands.add("create", self.create, help="add a person or organisation")
        self._record_arguments(create, required=True)

        edit = subcommands.add("edit", self.edit, help="change a person or organisation")
        edit.add_argument("id", type=int)
        self._record_arguments(edit, required=False)

        merge = subcommands.add("merge", self.merge, help="merge a record into another (refused if they differ)")
        merge.add_argument("keep", type=int, help="the record that stays")
        merge.add_argument("merged", type=int, help="the record merged into it and removed")
        merge.add_argument("--organisations", action="store_true", help="the ids are organisations'")

        split = subcommands.add("split", self.split, help="move records off a person or organisation to a new one")
        split.add_argument("id", type=int)
        split.add_argument("--name", required=True, help="the name of the new record")
        split.add_argument(
            "--record",
            action="append",
            default=[],
            dest="records",
            help="a record to move, as 'probity people references' lists it (e.g. core.position:12); repeat",
        )
        split.add_argument("--organisation", action="store_true", help="the id is an organisation's")

        refs = subcommands.add("references", self.references, help="what points at a person or organisation")
        refs.add_argument("id", type=int)
        refs.add_argument("--organisation", action="store_true", help="the id is an organisation's")

        history = subcommands.add("history", self.history, help="merges and splits that can still be undone")
        history.add_argument("-n", type=int, default=20, help="how many (default 20)")

        undo = subcommands.add("undo", self.undo, help="undo a merge or split by its audit entry number")
        undo.add_argument("sequence", type=int)

        imports = subcommands.add("import", self.import_file, help="import from a CSV or FtM JSON-lines file")
        imports.add_argument("path", type=Path)
        imports.add_argument(
            "--what",
            choices=("people", "organisations", "family", "ftm"),
            required=True,
            help="what the file holds (CSV columns: see docs/reference/people.md)",
        )

    def _record_arguments(self, parser: Any, *, required: bool) -> None:
        parser.add_argument("--organisation", action="store_true", help="an organisation instead of a person")
        parser.add_argument("--name", required=required)
        parser.add_argument("--birth-date", help="a person's date of birth, YYYY-MM-DD")
        parser.add_argument("--gender", choices=("female", "male", "other"))
        parser.add_argument("--nationality", help="two letters, e.g. GB")
        parser.add_argument("--national-id", help="a person's national identity number (stored only as a hash)")
        parser.add_argument("--national-id-issuer", help="the country that issued it, e.g. GB")
        parser.add_argument("--kind", help="an organisation's kind, e.g. company")
        parser.add_argument("--jurisdiction", help="an organisation's country, e.g. GB")
        parser.add_argument("--registry-number", help="an organisation's company registry number")
        parser.add_argument("--registry-issuer", help="the register's country, e.g. GB")

    def _get(self, model: type[Person] | type[Organisation], pk: int) -> Any:
        found = model.objects.filter(pk=pk).first()
        if found is None:
            what = _g("person") if model is Person else _g("organisation")
            raise CommandError(_g("There is no %(what)s %(id)s.") % {"what": what, "id": pk}, returncode=2)
        return found

    def list_records(self, *, query: str, organisations: bool, n: int, **options: Any) -> None:
        model: type[Person] | type[Organisation] = Organisation if organisations else Person
        found = selectors.search_by_name(queryset=model.objects.all(), query=query).order_by("name", "pk")
        for record in found[:n]:
            extra = record.birth_date.isoformat() if isinstance(record, Person) and record.birth_date else ""
            self.stdout.write(f"{record.pk:>8}  {record.name}  {extra}".rstrip())
        self.stdout.write(_g("%(n)s found.") % {"n": found.count()})

    def show(self, *, id: int, organisation: bool, **options: Any) -> None:
        subject = self._get(Organisation if organisation else Person, id)
        # The command line acts with every right: an operator on the server.
        profile = profile_build(subject=subject, user=_Operator())
        self.stdout.write(subject.name)
        for item in profile.sections:
            self.stdout.write("")
            self.stdout.write(f"== {item.section.title}")
            columns = [str(c) for c in item.content.columns]
            for row in item.content.rows:
                self.stdout.write("  " + "; ".join(f"{c}: {cell.text}" for c, cell in zip(columns, row, strict=False)))
            if item.content.note:
                self.stdout.write(f"  {item.content.note}")
        if profile.timeline:
            self.stdout.write("")
            self.stdout.write(f"== {_g('Timeline')}")
            for event in profile.timeline:
                self.stdout.write(f"  {event.when.isoformat()}  {event.text}")

    def _values(self, options: dict[str, Any], organisation: bool) -> dict[str, Any]:
        if organisation:
            names = ("name", "kind", "jurisdiction", "registry_number", "registry_issuer")
        else:
            names = ("name", "gender", "nationality", "national_id", "national_id_issuer")
        values = {name: options[name] for name in names if options.get(name) is not None}
        if not organisation and options.get("birth_date"):
            values["birth_date"] = _date(options["birth_date"])
        return values

    def _save(self, subject: Any, organisation: bool, options: dict[str, Any]) -> Any:
        values = self._values(options, organisation)
        try:
            with audit_actor(ACTOR):
                if organisation:
                    return people.organisation_save(actor=None, organisation=subject, **values)
                return people.person_save(actor=None, person=subject, **values)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=1) from None
        except people.RecordRefused as refusal:
            raise CommandError(str(refusal), returncode=1) from None

    def create(self, *, organisation: bool, **options: Any) -> None:
        saved = self._save(None, organisation, options)
        self.stdout.write(
            self.style.SUCCESS(_g("%(name)s was saved as number %(id)s.") % {"name": saved, "id": saved.pk})
        )

    def edit(self, *, id: int, organisation: bool, **options: Any) -> None:
        subject = self._get(Organisation if organisation else Person, id)
        saved = self._save(subject, organisation, options)
        self.stdout.write(self.style.SUCCESS(_g("%(name)s was saved.") % {"name": saved}))

    def merge(self, *, keep: int, merged: int, organisations: bool, **options: Any) -> int | None:
        model: type[Person] | type[Organisation] = Organisation if organisations else Person
        kept, gone = self._get(model, keep), self._get(model, merged)
        try:
            with audit_actor(ACTOR):
                entry = people.record_merge(actor=None, keep=kept, merged=gone)
        except people.RecordRefused as refusal:
            self.stderr.write(str(refusal))
            return 1
        self.stdout.write(self.style.SUCCESS(people.event_sentence(entry)))
        self.stdout.write(_g("To undo it: probity people undo %(n)s") % {"n": entry.sequence})
        return None

    def references(self, *, id: int, organisation: bool, **options: Any) -> None:
        subject = self._get(Organisation if organisation else Person, id)
        for ref, rows in people.referencing_rows(subject):
            self.stdout.write(f"{ref.title}:")
            for row in rows:
                self.stdout.write(f"  {ref.label}:{row.pk}  {row}")

    def split(self, *, id: int, name: str, records: list[str], organisation: bool, **options: Any) -> int | None:
        source = self._get(Organisation if organisation else Person, id)
        try:
            with audit_actor(ACTOR):
                created, entry = people.record_split(actor=None, source=source, name=name, records=records)
        except people.RecordRefused as refusal:
            self.stderr.write(str(refusal))
            return 1
        self.stdout.write(self.style.SUCCESS(people.event_sentence(entry)))
        self.stdout.write(
            _g("The new record is number %(id)s; to undo: probity people undo %(n)s")
            % {"id": created.pk, "n": entry.sequence}
        )
        return None

    def history(self, *, n: int, **options: Any) -> None:
        entries = people.undoable_entries(limit=n)
        for entry in entries:
            when = f"{entry.recorded_at:%Y-%m-%d %H:%M}"
            self.stdout.write(f"{entry.sequence:>8}  {when}  {entry.actor}  {people.event_sentence(entry)}")
        if not entries:
            self.stdout.write(_g("No merge or split to undo."))

    def undo(self, *, sequence: int, **options: Any) -> int | None:
        try:
            with audit_actor(ACTOR):
                entry = people.record_undo(actor=None, sequence=sequence)
        except people.RecordRefused as refusal:
            self.stderr.write(str(refusal))
            return 1
        self.stdout.write(self.style.SUCCESS(people.event_sentence(entry)))
        return None

    def import_file(self, *, path: Path, what: str, **options: Any) -> int | None:
        if not path.is_file():
            raise CommandError(_g("There is no file %(path)s.") % {"path": path}, returncode=2)
        with path.open("rb") as counting:
            total = sum(1 for _line in counting)
        with (
            path.open("rb") as stream,
            tqdm(total=total, unit="row", desc="importing", disable=options["verbosity"] < 1, file=sys.stderr) as bar,
            audit_actor(ACTOR),
        ):
            try:
                if what == "ftm":
                    report = people.records_import_ftm(
                        actor=None, stream=stream, source_name=path.name, progress=bar.update
                    )
                else:
                    report = people.records_import_csv(
                        actor=None, kind=what, stream=stream, source_name=path.name, progress=bar.update
                    )
            except people.RecordRefused as refusal:
                raise CommandError(str(refusal), returncode=1) from None
        for line, reason in report.rejected:
            self.stderr.write(_g("Line %(line)s: %(reason)s") % {"line": line, "reason": reason})
        self.stdout.write(report.sentence())
        return 1 if report.rejected else None


class _Operator:
    """The reader of ``probity people show``: whoever runs commands on the server sees every section."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    _probity_roles = {"administrator"}

    def has_perm(self, permission: str, obj: Any = None) -> bool:
        return True
