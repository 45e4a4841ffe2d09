"""The declarations detectors, registered with ``probity.core.detectors`` when this package is imported
(``DeclarationsConfig.detectors``).

* ``figures``: the declared figures — DECL-WEALTH, DECL-ARITHMETIC, DECL-CROSSYEAR;
* ``lifestyle``: lifestyle and structure signals — DECL-LIFESTYLE;
* ``registers``: cross-checks with the ownership register and procurement awards —
  DECL-UNDECLARED-COMPANY, DECL-COI-AWARD.

``base`` holds what they share. They read declarations through ``probity.declarations.selectors``.
"""

from probity.declarations.detectors import figures, lifestyle, registers

__all__ = ["figures", "lifestyle", "registers"]
