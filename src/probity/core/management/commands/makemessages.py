"""Django's ``makemessages``, also extracting ``_g(...)`` and ``N_(...)``: ``_g`` is Probity's name for ``gettext``
where ``_`` is the lazy ``gettext_lazy`` of the same module (sentences built at run time, e.g. a job's outcome);
``N_`` is ``gettext_noop``, for names stored in English and translated when shown (the shipped case types)."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_g", "--keyword=N_"]
