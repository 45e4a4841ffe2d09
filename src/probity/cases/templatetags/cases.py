"""Template filters of the cases pages: ``{% load cases %}``, then ``{{ case.case_type.name|shown }}`` shows a
name of the shipped catalogue in the reader's language (see ``probity.cases.names``)."""

from __future__ import annotations

from django import template

from probity.cases.names import shown as shown_name

register = template.Library()


@register.filter
def shown(value: object) -> str:
    """A catalogue name (case type, status, task, document or outcome type) in the reader's language."""
    return shown_name(value)
