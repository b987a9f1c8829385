import os

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Threadline core"

    def ready(self):
        from django_q.signals import post_spawn

        from core import patches  # noqa: F401  (registers the patches' system check)
        from core.patches import django_db_pool, django_q2
        from core.tasks import lower_worker_priority

        # django-q2 forks its workers; a child must never reuse the parent's database sockets.
        os.register_at_fork(after_in_child=django_db_pool.forget_inherited_connections)
        # ... and a worker killed at the wrong moment must not stop the whole cluster.
        django_q2.install()
        post_spawn.connect(lower_worker_priority, dispatch_uid="threadline-worker-priority")
