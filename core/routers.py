"""Sends reporting reads (admin statistics, exports) to the read replica when one is configured."""

from contextvars import ContextVar

reporting = ContextVar("reporting", default=False)


class ReportingReplicaRouter:
    """Reads inside `with reporting_reads():` go to the replica; everything else stays on the primary."""

    def db_for_read(self, model, **hints):
        return "replica" if reporting.get() else "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class reporting_reads:
    def __enter__(self):
        self.token = reporting.set(True)

    def __exit__(self, *exc):
        reporting.reset(self.token)
