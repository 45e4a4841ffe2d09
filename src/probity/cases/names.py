"""Names of the shipped catalogue (case types, statuses, task templates, document and outcome types) are stored
in English, as their msgids (``catalogue.py`` marks them with ``gettext_noop``), and translated only when shown:
``shown`` gives the reader's language for a shipped name and any other text (a name an administrator typed)
unchanged. A translated name is never stored."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext


def shown(value: Any) -> str:
    """``value`` in the reader's language when it is a name of the catalogue, otherwise unchanged ("" for
    None). An empty string stays empty (``gettext("")`` would be the catalogue's header)."""
    text = "" if value is None else str(value)
    return gettext(text) if text else text
