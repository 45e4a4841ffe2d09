"""Declarations' events: what a submission or an import queues (``declarations.jobs`` runs the work).

Kept apart from ``jobs.py`` so the services that submit and import can queue work without importing the job
functions that call them back.
"""

from __future__ import annotations

from probity.core.detectors import detector_registry
from probity.core.jobs import job_enqueue
from probity.core.models import Job
from probity.declarations.selectors import VERIFY, VERIFY_DEDUPE, detector_codes

__all__ = ["VERIFY", "VERIFY_DEDUPE", "other_readers_changed", "verification_queue"]


def verification_queue() -> Job:
    """The event "declarations were submitted": queues one verification, or joins the one waiting.

    Called inside the submission's transaction, so the queue entry commits (or rolls back) with it.
    """
    return job_enqueue(kind=VERIFY, actor=None, trigger=Job.Trigger.EVENT, dedupe_key=VERIFY_DEDUPE)


def other_readers_changed() -> list[Job]:
    """``data_changed(source="declarations")`` without the declarations detectors (``declarations.verify``
    runs those): the detectors of other modules that read declarations, queued once each."""
    own = set(detector_codes())
    return [
        job_enqueue(
            kind="core.detector_run",
            parameters={"detector": code},
            actor=None,
            trigger=Job.Trigger.EVENT,
            dedupe_key=f"detector:{code}",
        )
        for code, detector in detector_registry().items()
        if "declarations" in detector.reads and code not in own
    ]
