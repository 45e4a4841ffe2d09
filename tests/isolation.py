"""A pytest plugin loaded before Django starts (``-p tests.isolation`` in the pytest options): the test run
gets its own data folder, so that not even Django's start-up (the secret key, the static folder) touches
``var/``. ``tests/conftest.py`` then gives the session its own folder inside it."""

from __future__ import annotations

import os
import tempfile

if "PROBITY_VAR_DIR" not in os.environ:
    os.environ["PROBITY_VAR_DIR"] = tempfile.mkdtemp(prefix="probity-test-var-")
