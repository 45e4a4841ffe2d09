"""Verification of declarations: selection by risk and by a verifiable random sample (``sampling``), the
verifier's workflow and who may do what (``services``), the queue and cases (``selectors``), the
side-by-side comparison (``compare``), and its pages, API and console subcommand."""
