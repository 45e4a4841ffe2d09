from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="debarment",
            options={
                "ordering": ("name", "start_date", "id"),
                "permissions": [("ingest_procurement", "Can ingest OCDS data into the procurement warehouse")],
                "verbose_name": "debarment",
                "verbose_name_plural": "debarments",
            },
        ),
    ]
