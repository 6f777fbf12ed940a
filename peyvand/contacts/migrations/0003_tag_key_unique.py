"""Tag keys are unique: «VIP» and «vip» cannot both exist (0002 merged the duplicates)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0002_tag_key"),
    ]

    operations = [
        migrations.AlterField(
            model_name="tag",
            name="key",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
    ]
