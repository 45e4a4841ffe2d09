"""probity demo: generate the synthetic demo country's files, load it into the core tables, ingest the files.

    probity demo generate [--seed N] [--scale S] [--out DIR] [--no-noise]
    probity demo load [--seed N] [--scale S]
    probity demo ingest [--dir DIR] [--steps ownership,debarments,procurement,entities,declarations]

Exit codes: 0 done, 1 ingest: a step failed or some records were rejected (listed), 2 usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from tqdm import tqdm

from probity.core.commands import SubcommandCommand, Subcommands
from probity.demo.generator import generate_country
from probity.demo.services import INGEST_STEPS, IngestStep, demo_generate, demo_ingest, demo_load


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


class Command(SubcommandCommand):
    help = (
        "Generate the synthetic demo country (demo generate), load it into the core tables (demo load), "
        "or read its files into the ownership, procurement, entities and declarations apps (demo ingest).\n\n"
        "The demo country is deterministic: one --seed and --scale always give the same data. "
        "Scale 1 is about "
        "25 public bodies, 200 officials, 600 companies and 2000 contracting processes, with planted schemes "
        "listed in ground_truth.json."
    )

    def add_subcommands(self, subcommands: Subcommands) -> None:
        generate = subcommands.add(
            "generate", self.generate, help="write OCDS, BODS, FtM, declarations, ground truth and manifest files"
        )
        load = subcommands.add(
            "load", self.load, help="write bodies, positions, people, families and companies to the database"
        )
        ingest = subcommands.add(
            "ingest",
            self.ingest,
            help="read the generated files into the modules (after `demo load` of the same seed and scale): "
            "BODS, debarments, OCDS (with indicators and risk scores), FtM (with entity resolution), declarations",
        )
        ingest.add_argument(
            "--dir", type=Path, default=None, help="the generated folder (default: <PROBITY_VAR_DIR>/demo)"
        )
        ingest.add_argument(
            "--steps",
            default=",".join(INGEST_STEPS),
            help=f"comma-separated steps, run in the order given (default, all in order: {','.join(INGEST_STEPS)})",
        )
        for command in (generate, load):
            command.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
            command.add_argument("--scale", default="0.05", help="size; 1 ≈ 2000 contracting processes (default 0.05)")
        generate.add_argument("--out", type=Path, default=None, help="output folder (default: <PROBITY_VAR_DIR>/demo)")
        generate.add_argument(
            "--no-noise",
            action="store_true",
            help="write every name as the civil register has it, without misspellings, look-alikes, "
            "nominee layers or circular holdings (see docs/reference/demo-country.md)",
        )

    def _bars(self, verbosity: int) -> _Bars:
        return _Bars(self.stderr._out, disable=verbosity < 1)

    def generate(
        self, *, seed: int, scale: str, out: Path | None, no_noise: bool, verbosity: int, **options: Any
    ) -> None:
        size = _scale(scale)
        bars = self._bars(verbosity)
        noise = not no_noise
        out_dir = Path(out) if out is not None else Path(settings.VAR_DIR) / "demo"
        try:
            manifest = demo_generate(seed=seed, scale=size, out_dir=out_dir, progress=bars, noise=noise)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bars.close()
        counts = manifest.counts
        self.stdout.write(f"Demo country (seed {seed}, scale {size:g}) written to {out_dir}")
        self.stdout.write(
            f"  {counts['bodies']} public bodies, {counts['officials']} officials, "
            f"{counts['people']} people, "
            f"{counts['companies']} companies, {counts['processes']} contracting processes"
        )
        self.stdout.write(
            f"  files: {counts['ocds_releases']} OCDS releases, {counts['bods_statements']} BODS statements, "
            f"{counts['ftm_entities']} FtM entities, {counts['declaration_files']} declarations"
        )
        self.stdout.write(f"  {counts['schemes']} planted schemes in ground_truth.json; checksums in manifest.json")
        if noise:
            self.stdout.write(
                f"  noise: {counts['noise_hard_negatives']} look-alike people, "
                f"{counts['noise_nominee_layers']} nominee layers, "
                f"{counts['noise_circular_holdings']} circular holdings; identities in ground_truth.json"
            )

    def load(self, *, seed: int, scale: str, verbosity: int, **options: Any) -> None:
        size = _scale(scale)
        bars = self._bars(verbosity)
        try:
            bars("generating", 0, 1)
            country = generate_country(seed, size)
            bars("generating", 1, 1)
            created = demo_load(country=country, progress=bars)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bars.close()
        total = sum(created.values())
        self.stdout.write(f"Demo country (seed {seed}, scale {size:g}) loaded into the database.")
        if total == 0:
            self.stdout.write("  Nothing new: it was already loaded.")
        else:
            self.stdout.write("  created: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in created.items()))

    def ingest(self, *, dir: Path | None, steps: str, **options: Any) -> int:
        demo_dir = Path(dir) if dir is not None else Path(settings.VAR_DIR) / "demo"
        chosen = [name.strip() for name in steps.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in INGEST_STEPS]
        if unknown or not chosen:
            raise CommandError(
                f"--steps: unknown step(s) {', '.join(unknown) or '(none given)'}; use: {', '.join(INGEST_STEPS)}",
                returncode=2,
            )
        if not (demo_dir / "manifest.json").is_file():
            raise CommandError(f"{demo_dir} holds no demo country: run `probity demo generate` first", returncode=2)
        self.stdout.write(f"Reading the demo files in {demo_dir} into the modules:")
        results = demo_ingest(demo_dir=demo_dir, steps=chosen, on_step=self.write_step)
        return 1 if any(not step.ok or step.problems for step in results) else 0

    def write_step(self, step: IngestStep) -> None:
        """One line per step: its counts and time, or its error (on standard error too)."""
        self.stdout.write(ingest_step_line(step))
        if not step.ok:
            self.stderr.write(f"demo ingest: {step.name} failed: {step.error}")


def ingest_step_line(step: IngestStep) -> str:
    if not step.ok:
        return f"  {step.name}: FAILED after {step.seconds:.1f} s: {step.error}"
    counts = ", ".join(f"{number} {label}" for label, number in step.counts.items())
    return f"  {step.name}: {counts} ({step.seconds:.1f} s)"
