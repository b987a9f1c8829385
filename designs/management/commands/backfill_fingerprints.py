"""`manage.py backfill_fingerprints`: fingerprints for designs processed before they existed, made by the workers.

Until a design has one, uploads are compared with it by the rule it was judged by (phash, dhash and colours).
Safe to run again: each task skips a design that has its fingerprint by then.
"""

from django.core.management.base import BaseCommand

from designs.services import design_fingerprint_backfill


class Command(BaseCommand):
    help = "Queue a fingerprint task for every finished design without a fingerprint (the workers make them)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, help="queue at most this many, oldest first")

    def handle(self, *args, limit=None, **options):
        count = design_fingerprint_backfill(limit=limit)
        self.stdout.write(f"Queued {count} design(s) for a fingerprint; the workers of `manage.py qcluster` make them.")
