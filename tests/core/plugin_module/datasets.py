from collections.abc import Iterator, Mapping
from typing import Any

from probity.core.modules import PublicDataset


def rows() -> Iterator[Mapping[str, Any]]:
    yield {"thing": "one"}


DATASETS = (
    PublicDataset("plugin-things", "Plug-in things", "Things the plug-in knows.", rows, (("thing", "a thing"),)),
)
