import os

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = "Threadline"

    def ready(self):
        from project import taskqueue
        from project.db import forget_inherited_connections

        # django-q2 forks its workers; a child must never reuse the parent's database sockets.
        os.register_at_fork(after_in_child=forget_inherited_connections)
        # ... and a worker killed at the wrong moment must not stop the whole cluster (see project/taskqueue.py).
        taskqueue.install()


class ThreadlineAdminConfig(admin_apps.AdminConfig):
    default = False  # "project" still means ProjectConfig
    default_site = "project.admin_site.ThreadlineAdminSite"
