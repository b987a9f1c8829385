from django.db import migrations, models

from core.migration_ops import AddIndexConcurrentlyWherePossible


class Migration(migrations.Migration):
    atomic = False  # built concurrently on PostgreSQL: the admin list filters by payment status

    dependencies = [("orders", "0007_completed_is_delivered_and_carriers")]

    operations = [
        AddIndexConcurrentlyWherePossible(
            model_name="order",
            index=models.Index(fields=["payment_status", "-created_at", "-id"], name="order_payment_created_id"),
        ),
    ]
