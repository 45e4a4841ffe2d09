"""Publication of declarations: redaction profiles and the redacted copy (``redaction``), publishing and
withdrawing (``services``), the public register's queries and open-data formats (``selectors``), and its
pages, API and console subcommands."""
