"""Red-flag indicators on the procurement warehouse tables, written once in Ibis for DuckDB and Spark.

``indicators()`` is the registry: every indicator by code, its module loaded on first use. The
interface an indicator implements, and the helpers it builds on, are in ``base`` (read its
docstring to add one); ``settings`` reads Cardinal's settings file, ``run`` runs the indicators on a
file or on the warehouse and ``output`` writes Cardinal's JSON or CSV. ``command`` is the command
line that runs them without Django's start-up.

This module imports no indicator at import time: the modules of ``_MODULES`` (which import ``base``
and register themselves there) are imported by ``indicators()``.
"""

from __future__ import annotations

import importlib

from probity.procurement.indicators.base import INDICATORS, Indicator

# Modules of this package that register indicators. Add yours here.
_MODULES = ("probity.procurement.indicators.cardinal",)


def indicators() -> dict[str, type[Indicator]]:
    """Every registered indicator, by code, in code order."""
    for module in _MODULES:
        importlib.import_module(module)
    return dict(sorted(INDICATORS.items()))
