"""The demo country's background jobs: write its files (``demo.generate``) and read them into the modules
(``demo.ingest``), as ``probity demo generate`` and ``probity demo ingest`` do.

Both work in a folder under ``VAR_DIR`` (``demo`` by default), never a path given from outside. The
ingest writes the procurement warehouse, so it waits in the ``warehouse`` queue; after it, the detectors
that read what its steps changed are queued (``data_changed``), except the procurement indicators its
procurement step has just run. Only administrators start them (the demo writes into every register).
"""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from probity.core.job_kinds import data_changed
from probity.core.jobs import JobContext, JobFailed, JobOutcome, job_kind
from probity.demo.services import INGEST_STEPS, IngestStep, demo_generate, demo_ingest
from probity.procurement.services import CARDINAL_CODES, INDICATORS

PERMISSION = "core.add_publicbody"  # administrators: the demo writes public bodies, people and every register
# The sources each ingest step changes, for ``data_changed``.
STEP_SOURCES = {
    "ownership": ("ownership",),
    "debarments": (),  # read through the procurement step's indicators
    "procurement": ("procurement",),
    "declarations": ("declarations",),
    "entities": ("entities",),
}


def demo_folder(name: str) -> Path:
    """The folder ``name`` under ``VAR_DIR``: a plain folder name, never a path."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise JobFailed(_g("“%(name)s” is not a folder name under the data folder.") % {"name": name})
    return Path(settings.VAR_DIR) / name


def _folder_name(value: str) -> None:
    if "/" in value or "\\" in value or value.startswith("."):
        raise forms.ValidationError(_("Give a folder name (letters, digits, - and _), not a path."))


class GenerateForm(forms.Form):
    seed = forms.IntegerField(label=_("Seed"), initial=1, required=False, help_text=_("One seed, one country."))
    scale = forms.FloatField(
        label=_("Scale"),
        initial=0.05,
        min_value=0.001,
        max_value=1000,
        required=False,
        help_text=_("1 is about 2000 contracting processes (default 0.05)."),
    )
    no_noise = forms.BooleanField(
        label=_("Without noise"),
        required=False,
        help_text=_(
            "Every name as the civil register has it: no misspellings, look-alikes, nominee layers or circular "
            "holdings."
        ),
    )
    folder = forms.CharField(
        label=_("Folder"), initial="demo", max_length=100, required=False, validators=[_folder_name]
    )


@job_kind(
    "demo.generate",
    label=_("Generate the demo country's files"),
    description=_(
        "Writes the synthetic demo country's files (OCDS, BODS, FollowTheMoney, declarations, ground truth) "
        "into a folder of the data folder. The same seed and scale always give the same files."
    ),
    permission=PERMISSION,
    form=GenerateForm,
)
def generate_job(
    context: JobContext,
    *,
    seed: int | None = None,
    scale: float | None = None,
    no_noise: bool = False,
    folder: str = "",
) -> JobOutcome:
    seed = 1 if seed is None else seed
    scale = scale or 0.05
    out_dir = demo_folder(folder or "demo")
    stage = {"name": ""}

    def progress(name: str, done: int, total: int) -> None:
        if name != stage["name"]:
            stage["name"] = name
            context.stage(name, total)
        context.advance(done - context.job.progress_done)

    try:
        manifest = demo_generate(seed=seed, scale=scale, out_dir=out_dir, progress=progress, noise=not no_noise)
    except (OSError, ValueError) as exc:
        raise JobFailed(_g("The demo country could not be written: %(reason)s") % {"reason": exc}) from exc
    counts = manifest.counts
    return JobOutcome(
        _g(
            "Demo country (seed %(seed)s, scale %(scale)s) written to the folder “%(folder)s”: %(processes)s "
            "contracting processes, %(companies)s companies, %(officials)s officials."
        )
        % {
            "seed": seed,
            "scale": f"{scale:g}",
            "folder": out_dir.name,
            "processes": counts.get("processes", 0),
            "companies": counts.get("companies", 0),
            "officials": counts.get("officials", 0),
        },
        {"folder": out_dir.name, **{key: value for key, value in counts.items() if isinstance(value, int)}},
    )


class IngestForm(forms.Form):
    steps = forms.MultipleChoiceField(
        label=_("Steps"),
        choices=[(name, name) for name in INGEST_STEPS],
        required=False,
        help_text=_("Leave empty for every step, in order."),
    )
    folder = forms.CharField(
        label=_("Folder"),
        initial="demo",
        max_length=100,
        required=False,
        validators=[_folder_name],
        help_text=_("The folder of the data folder the files were generated into (default “demo”)."),
    )


@job_kind(
    "demo.ingest",
    label=_("Read the demo country's files into the modules"),
    description=_(
        "Reads the generated demo files into ownership, the debarment register, procurement (with the risk "
        "indicators), declarations and entities (with entity resolution). Load the same demo country into the "
        "core tables first. A step that fails is reported and the others go on; reading the files again adds "
        "nothing."
    ),
    permission=PERMISSION,
    queue="warehouse",
    form=IngestForm,
)
def ingest_job(context: JobContext, *, steps: list[str] | None = None, folder: str = "") -> JobOutcome:
    demo_dir = demo_folder(folder or "demo")
    if not (demo_dir / "manifest.json").is_file():
        raise JobFailed(
            _g("The folder “%(folder)s” holds no demo country: generate it first.") % {"folder": demo_dir.name}
        )
    chosen = [name for name in INGEST_STEPS if name in (steps or INGEST_STEPS)]
    context.stage(_g("steps done"), len(chosen))

    def on_step(step: IngestStep) -> None:
        if step.ok:
            counts = ", ".join(f"{number} {label}" for label, number in step.counts.items())
            context.log(
                _g("%(step)s: %(counts)s (%(seconds).1f s).")
                % {"step": step.name, "counts": counts, "seconds": step.seconds}
            )
        else:  # the demo country is synthetic: its errors may be shown as they are
            context.log(
                _g("%(step)s failed after %(seconds).1f s: %(error)s")
                % {"step": step.name, "seconds": step.seconds, "error": step.error[:500]}
            )
        context.advance()

    results = demo_ingest(demo_dir=demo_dir, steps=chosen, on_step=on_step)
    failed = [step.name for step in results if not step.ok]
    if len(failed) == len(results):
        raise JobFailed(
            _g("Every step failed (%(steps)s); the first: %(error)s")
            % {"steps": ", ".join(failed), "error": results[0].error[:500]}
        )
    queued: set[int] = set()
    procurement_ran = any(step.ok and step.name == "procurement" for step in results)
    for step in results:
        for source in STEP_SOURCES.get(step.name, ()) if step.ok else ():
            exclude = _procurement_indicators() if procurement_ran else ()
            queued.update(job.pk for job in data_changed(source=source, reason="demo ingest", exclude=exclude))
    if queued:
        context.log(_g("%(n)s detector(s) that read the changed data were queued.") % {"n": len(queued)})
    rejected = sum(step.problems for step in results)
    summary = _g("%(done)s of %(total)s step(s) done, %(rejected)s record(s) rejected.") % {
        "done": len(results) - len(failed),
        "total": len(results),
        "rejected": rejected,
    }
    if failed:
        summary += " " + _g("Failed: %(steps)s.") % {"steps": ", ".join(failed)}
    return JobOutcome(
        summary,
        {
            "steps": len(results),
            "failed": len(failed),
            "rejected": rejected,
            **{f"{step.name}_seconds": round(step.seconds, 1) for step in results},
        },
    )


def _procurement_indicators() -> list[str]:
    return [*INDICATORS, *CARDINAL_CODES]
