"""No tables: a home for the operations permissions, so they can be granted in the admin like any other."""

from django.db import models


class Operations(models.Model):
    """Holds `ops.view_metrics`: read /metrics and the reasons behind a failing /healthz (internal hosts, ports,
    queue and task names). Staff without it see neither; superusers have it."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_metrics", "Can read /metrics and health check details")]

    def __str__(self):
        return "operations"
