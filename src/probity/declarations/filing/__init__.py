"""E-filing by declarants: the steps of the form (``steps``), drafts and submission (``services``), what a
declarant has and must file (``selectors``), and its pages, API and console subcommands."""
