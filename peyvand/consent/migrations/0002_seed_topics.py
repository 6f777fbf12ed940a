from django.db import migrations

TOPICS = [
    ("news", "اخبار", "News", "monthly", True),
    ("products", "محصولات تازه", "New products", "monthly", False),
    ("offers", "پیشنهادها و تخفیف‌ها", "Offers and discounts", "weekly", False),
    ("events", "رویدادها", "Events", "monthly", False),
]


def seed(apps, schema_editor):
    Topic = apps.get_model("consent", "Topic")
    for position, (key, name_fa, name_en, frequency, default) in enumerate(TOPICS):
        Topic.objects.get_or_create(key=key, defaults={
            "name_fa": name_fa, "name_en": name_en, "default_frequency": frequency,
            "default_opt_in": default, "position": position})


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
