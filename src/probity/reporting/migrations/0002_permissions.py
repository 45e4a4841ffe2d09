"""Creates the reporting app's permissions right away.

``probity.core.roles.roles_sync`` runs on the core app's ``post_migrate``, which on a fresh database
comes before Django creates the permissions of apps listed after core; the role table of
``probity.reporting.roles`` names them, so they must exist by then.
"""

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_reporting_permissions(apps: Any, schema_editor: Any) -> None:
    app_config = apps.get_app_config("reporting")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_reporting_permissions, migrations.RunPython.noop)]
