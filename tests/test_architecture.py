"""The architecture holds: no two Probity modules import each other, and the detector catalogue is current.

The layers and forbidden imports are import-linter contracts in pyproject.toml (``lint-imports`` in CI); this
test adds what import-linter does not check: a loop between two modules (files), even through an import
deferred into a function.
"""

from __future__ import annotations

from pathlib import Path

import grimp

from probity.core.detectors.catalogue import detector_catalogue

ROOT = Path(__file__).resolve().parents[1]


def test_no_two_modules_import_each_other() -> None:
    graph = grimp.build_graph("probity", exclude_type_checking_imports=True, cache_dir=None)
    loops = sorted(
        f"{importer} <-> {imported}"
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if importer < imported and importer in graph.find_modules_directly_imported_by(imported)
    )
    assert not loops, "modules that import each other:\n" + "\n".join(loops)


def test_the_detector_catalogue_is_current() -> None:
    page = ROOT / "docs" / "detectors.md"
    assert page.exists(), "docs/detectors.md is missing: run 'probity detectors catalogue --output docs/detectors.md'"
    assert page.read_text(encoding="utf-8") == detector_catalogue(), (
        "docs/detectors.md is not current: run 'probity detectors catalogue --output docs/detectors.md' and commit it"
    )
