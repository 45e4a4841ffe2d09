"""probity demo: generate the synthetic demo country's files, or load it into the core tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from probity.demo.generator import generate_country
from probity.demo.services import demo_generate, demo_load


def _scale(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise CommandError(f"--scale must be a number such as 0.05 or 1, not {raw!r}") from None
    if not (0 < value <= 1000):
        raise CommandError(f"--scale must be above 0 and at most 1000, not {raw}")
    return value


class _Bars:
    """One tqdm bar per stage, on stderr; ``__call__(stage, done, total)`` is the services' progress hook."""

    def __init__(self, stream: Any, disable: bool) -> None:
        self.stream = stream
        self.disable = disable
        self.stage = ""
        self.bar: tqdm[Any] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage or self.bar is None:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, file=self.stream, disable=self.disable, leave=False)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = (
        "Generate the synthetic demo country (demo generate) or load it into the core tables (demo load).\n\n"
        "The demo country is deterministic: one --seed and --scale always give the same data. "
        "Scale 1 is about "
        "25 public bodies, 200 officials, 600 companies and 2000 contracting processes, with planted schemes "
        "listed in ground_truth.json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{generate,load}")
        generate = sub.add_parser(
            "generate", help="write OCDS, BODS, FtM, declarations, ground truth and manifest files"
        )
        load = sub.add_parser(
            "load", help="write bodies, positions, people, families and companies to the database"
        )
        for command in (generate, load):
            command.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
            command.add_argument(
                "--scale", default="0.05", help="size; 1 ≈ 2000 contracting processes (default 0.05)"
            )
        generate.add_argument(
            "--out", type=Path, default=None, help="output folder (default: <PROBITY_VAR_DIR>/demo)"
        )
        generate.add_argument(
            "--no-noise",
            action="store_true",
            help="write every name as the civil register has it, without misspellings, look-alikes, "
            "nominee layers or circular holdings (see docs/demo.md)",
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        seed: int = options["seed"]
        scale = _scale(str(options["scale"]))
        bars = _Bars(self.stderr._out, disable=options["verbosity"] < 1)
        try:
            if action == "generate":
                self.generate(seed, scale, options["out"], bars, noise=not options.get("no_noise", False))
            else:
                self.load(seed, scale, bars)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bars.close()

    def generate(self, seed: int, scale: float, out: Path | None, bars: _Bars, *, noise: bool = True) -> None:
        out_dir = Path(out) if out is not None else Path(settings.VAR_DIR) / "demo"
        manifest = demo_generate(seed=seed, scale=scale, out_dir=out_dir, progress=bars, noise=noise)
        bars.close()
        counts = manifest.counts
        self.stdout.write(f"Demo country (seed {seed}, scale {scale:g}) written to {out_dir}")
        self.stdout.write(
            f"  {counts['bodies']} public bodies, {counts['officials']} officials, "
            f"{counts['people']} people, "
            f"{counts['companies']} companies, {counts['processes']} contracting processes"
        )
        self.stdout.write(
            f"  files: {counts['ocds_releases']} OCDS releases, {counts['bods_statements']} BODS statements, "
            f"{counts['ftm_entities']} FtM entities, {counts['declaration_files']} declarations"
        )
        self.stdout.write(
            f"  {counts['schemes']} planted schemes in ground_truth.json; checksums in manifest.json"
        )
        if noise:
            self.stdout.write(
                f"  noise: {counts['noise_hard_negatives']} look-alike people, "
                f"{counts['noise_nominee_layers']} nominee layers, "
                f"{counts['noise_circular_holdings']} circular holdings; identities in ground_truth.json"
            )

    def load(self, seed: int, scale: float, bars: _Bars) -> None:
        bars("generating", 0, 1)
        country = generate_country(seed, scale)
        bars("generating", 1, 1)
        created = demo_load(country=country, progress=bars)
        bars.close()
        total = sum(created.values())
        self.stdout.write(f"Demo country (seed {seed}, scale {scale:g}) loaded into the database.")
        if total == 0:
            self.stdout.write("  Nothing new: it was already loaded.")
        else:
            self.stdout.write(
                "  created: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in created.items())
            )
