"""Models of the ownership app."""

from __future__ import annotations
