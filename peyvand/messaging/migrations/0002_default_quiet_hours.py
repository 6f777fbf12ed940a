import datetime as dt

from django.db import migrations


def add_default(apps, schema_editor):
    # F6 default: no SMS between 22:00 and 08:00 in the contact's time zone (editable in the UI).
    StrategyRule = apps.get_model("messaging", "StrategyRule")
    if not StrategyRule.objects.filter(kind="quiet", channel="sms").exists():
        StrategyRule.objects.create(kind="quiet", channel="sms", quiet_start=dt.time(22, 0),
                                    quiet_end=dt.time(8, 0), active=True)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]
    operations = [migrations.RunPython(add_default, migrations.RunPython.noop)]
