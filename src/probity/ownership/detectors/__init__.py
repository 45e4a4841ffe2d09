"""The ownership detectors; importing this package registers them (``OwnershipConfig.detectors``).

``conflicts``: conflicts of interest across procurement and the register (PEP-owned suppliers, linked
bidders); ``owners``: the register's own checks (declared versus computed owners, data quality) and
officials who own or control companies.
"""

from probity.ownership.detectors import conflicts, owners

__all__ = ["conflicts", "owners"]
