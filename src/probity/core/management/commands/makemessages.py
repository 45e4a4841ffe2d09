"""Django's ``makemessages``, also extracting ``_g(...)``: Probity's name for ``gettext`` where ``_`` is the lazy
``gettext_lazy`` of the same module (sentences built at run time, e.g. a job's outcome)."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_g"]
