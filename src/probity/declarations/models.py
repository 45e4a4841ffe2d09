"""Models of the declarations app."""

from __future__ import annotations
