"""The name key table, with the keys of the names already stored (so no re-import is needed)."""

import django.db.models.deletion
from django.db import migrations, models


def backfill_name_keys(apps, schema_editor):  # type: ignore[no-untyped-def]
    from probity.entities.name_keys import backfill

    backfill(apps.get_model("entities", "EntityName"), apps.get_model("entities", "NameKey"))


class Migration(migrations.Migration):
    dependencies = [
        ("entities", "0002_watchlists"),
    ]

    operations = [
        migrations.CreateModel(
            name="NameKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=64, verbose_name="key")),
                ("dataset", models.CharField(max_length=100, verbose_name="dataset")),
                ("schema", models.CharField(max_length=64, verbose_name="schema")),
                (
                    "entity",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="entities.entity"
                    ),
                ),
                (
                    "name",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="entities.entityname"
                    ),
                ),
            ],
            options={
                "verbose_name": "name key",
                "verbose_name_plural": "name keys",
                "indexes": [models.Index(fields=["key", "dataset"], name="namekey_key_dataset")],
            },
        ),
        migrations.RunPython(backfill_name_keys, migrations.RunPython.noop, elidable=True),
    ]
