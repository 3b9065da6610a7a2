from django.db import migrations, models


def drop_out_of_range(apps, schema_editor):
    # The runtime never applied such a row in a way that worked (a TTL of 0 or less turned
    # caching of the type off, a huge one failed requests); without it the type's default
    # applies, which is also what the runtime now does with one. The constraint needs them gone.
    TTLOverride = apps.get_model("cache_admin", "TTLOverride")
    TTLOverride.objects.exclude(ttl__gte=1, ttl__lte=2592000).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cache_admin", "0004_queuedinvalidation"),
    ]

    operations = [
        migrations.RunPython(drop_out_of_range, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="ttloverride",
            constraint=models.CheckConstraint(
                condition=models.Q(("ttl__gte", 1), ("ttl__lte", 2592000)),
                name="cache_admin_ttloverride_ttl_range",
                violation_error_message="A TTL is from 1 second to 30 days (2592000).",
            ),
        ),
    ]
