from django.core.management.base import BaseCommand
from django_q.models import Schedule

from core.tasks import task_path
from ops.schedules import periodic_tasks


class Command(BaseCommand):
    help = "Create or update the periodic tasks (idempotent)."

    def handle(self, *args, **options):
        for periodic in periodic_tasks():
            _, created = Schedule.objects.update_or_create(
                name=periodic.name,
                defaults={
                    "func": task_path(periodic.func),
                    "schedule_type": Schedule.MINUTES,
                    "minutes": periodic.minutes,
                    "repeats": -1,
                },
            )
            self.stdout.write(f"{'created' if created else 'updated'}: {periodic.name} every {periodic.minutes} min")
