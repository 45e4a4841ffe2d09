"""``probity declarations`` subcommands for publication of redacted declarations.

    probity declarations publish [--year Y] [--type T] [--ids 1,2] [--profile NAME]
    probity declarations publish --withdraw --ids 1,2
    probity declarations publish --export DIR [--year Y] [--type T]
    probity declarations profiles list
    probity declarations profiles show NAME
    probity declarations profiles set NAME [--field PATH …] [--private PATH …] [--description TEXT] [--default]

Exit codes: 0 done, 1 done but some declarations were skipped, 2 usage or configuration.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tqdm import tqdm

from probity.core.audit import audit_actor
from probity.core.commands import SubcommandCommand, Subcommands
from probity.declarations.models import RedactionProfile
from probity.declarations.publication import redaction, services
from probity.declarations.selectors import declarations_matching, missing_ids


def _ids(raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.replace(",", " ").split()]
    except ValueError as exc:
        raise ValueError(f"--ids {raw!r}: give declaration ids as numbers separated by commas") from exc


class PublicationCommands(SubcommandCommand):
    """The publication part of the ``probity declarations`` command."""

    def add_publication_subcommands(self, subcommands: Subcommands) -> None:
        publish = subcommands.add(
            "publish",
            self.publish,
            help="publish declarations to the public register (redacted), withdraw them, or export open data",
        )
        publish.add_argument("--year", type=int, help="only declarations of this year")
        publish.add_argument("--type", choices=["entry", "annual", "exit", "post_exit"], help="only this type")
        publish.add_argument("--ids", default="", help="comma-separated declaration ids (restores withdrawn ones)")
        publish.add_argument("--profile", default="", help="redaction profile name (default: the default profile)")
        publish.add_argument("--withdraw", action="store_true", help="take the --ids declarations off the register")
        publish.add_argument(
            "--export", metavar="DIR", help="write the open-data files (JSON and CSV, all and per year) into DIR"
        )

        profiles = subcommands.group("profiles", help="list, show or set redaction profiles")
        profiles.add("list", self.profiles_list, help="every redaction profile")
        show = profiles.add("show", self.profiles_show, help="one profile's paths")
        show.add_argument("name")
        setter = profiles.add("set", self.profiles_set, help="create a profile or change its paths")
        setter.add_argument("name")
        setter.add_argument(
            "--field", action="append", default=[], metavar="PATH", help="a withheld path (repeat; replaces the list)"
        )
        setter.add_argument(
            "--private",
            action="append",
            default=[],
            metavar="PATH",
            help="a path whose value a law marks private (repeat; replaces the list)",
        )
        setter.add_argument("--clear-fields", action="store_true", help="empty the withheld list")
        setter.add_argument("--clear-private", action="store_true", help="empty the private list")
        setter.add_argument("--description")
        setter.add_argument("--default", dest="make_default", action="store_true", help="make it the default profile")

    def publish(self, **options: Any) -> int:
        try:
            ids = _ids(options["ids"]) if options.get("ids") else None
        except ValueError as exc:
            self.stderr.write(str(exc))
            return 2
        year, kind = options.get("year"), options.get("type") or None

        if options.get("export"):
            with tqdm(desc="export", unit=" declarations", file=sys.stderr, disable=None) as bar:
                exported = services.export_open_data(
                    directory=options["export"], year=year, declaration_type=kind or "", progress=bar.update
                )
            for path in exported.files:
                self.stdout.write(path)
            self.stdout.write(f"{exported.declarations} published declarations exported to {options['export']}")
            return 0

        if options.get("withdraw"):
            if not ids:
                self.stderr.write("--withdraw needs --ids: name the declarations to take off the register")
                return 2
            with audit_actor("system:declarations-publish"):
                count = services.withdraw(declaration_ids=ids)
            self.stdout.write(f"{count} withdrawn from the public register")
            return 0

        try:
            profile = services.profile_get(name=options.get("profile") or "")
            declarations = declarations_matching(year=year, declaration_type=kind, ids=ids)
            redaction.profile_rules(profile)
        except (LookupError, ValueError) as exc:
            self.stderr.write(str(exc))
            return 2
        with (
            tqdm(
                desc="publish", total=declarations.count(), unit=" declarations", file=sys.stderr, disable=None
            ) as bar,
            audit_actor("system:declarations-publish"),
        ):
            report = services.publish(
                declarations=declarations.iterator(), profile=profile, include_withdrawn=bool(ids), progress=bar.update
            )
        report.skipped += missing_ids(ids=ids, declarations=declarations)
        for problem in report.skipped:
            self.stderr.write(problem)
        self.stdout.write(
            f"profile {profile.name}: {report.published} published, {report.replaced} replaced, "
            f"{report.unchanged} unchanged, {len(report.skipped)} skipped"
        )
        return 1 if report.skipped else 0

    def profiles_list(self, **options: Any) -> int:
        services.default_profile()
        for profile in RedactionProfile.objects.order_by("name"):
            marker = " (default)" if profile.is_default else ""
            self.stdout.write(f"{profile.name}{marker}: {len(profile.fields or [])} paths")
        return 0

    def profiles_show(self, **options: Any) -> int:
        try:
            profile = services.profile_get(name=options["name"])
        except LookupError as exc:
            self.stderr.write(str(exc))
            return 2
        paths = [str(p) for p in profile.fields or []]
        self.stdout.write(
            json.dumps(
                {
                    "name": profile.name,
                    "description": profile.description,
                    "is_default": profile.is_default,
                    "fields": [p for p in paths if not p.startswith(redaction.PRIVATE_PREFIX)],
                    "private": [
                        p.removeprefix(redaction.PRIVATE_PREFIX)
                        for p in paths
                        if p.startswith(redaction.PRIVATE_PREFIX)
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0

    def profiles_set(self, **options: Any) -> int:
        try:
            with audit_actor("system:declarations-profiles"):
                profile = services.profile_set(
                    name=options["name"],
                    fields=options["field"] if options["field"] or options["clear_fields"] else None,
                    private=options["private"] if options["private"] or options["clear_private"] else None,
                    description=options.get("description"),
                    make_default=bool(options.get("make_default")),
                )
        except redaction.ProfileInvalid as exc:
            self.stderr.write(str(exc))
            return 2
        self.stdout.write(
            f"profile {profile.name} saved: {len(profile.fields)} paths; re-publish to apply it to published "
            "declarations"
        )
        return 0
