import os

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = "Threadline"

    def ready(self):
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from project import taskqueue
        from project.auth import forget_cached_user
        from project.db import forget_inherited_connections

        # django-q2 forks its workers; a child must never reuse the parent's database sockets.
        os.register_at_fork(after_in_child=forget_inherited_connections)
        # ... and a worker killed at the wrong moment must not stop the whole cluster (see project/taskqueue.py).
        taskqueue.install()
        for signal in (post_save, post_delete):
            signal.connect(forget_cached_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="forget_cached_user")

