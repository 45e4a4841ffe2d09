"""The case types Probity ships (``probity.cases.catalogue``), created where missing."""

from typing import Any

from django.db import migrations


def install(apps: Any, schema_editor: Any) -> None:
    from probity.cases.catalogue import catalogue_install

    catalogue_install(apps)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
