"""Periodic tasks: one list, created idempotently by `manage.py setup_schedules`."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    name: str
    func: object  # the task callable itself, so a renamed task fails at import time
    minutes: int


def periodic_tasks():
    from designs.tasks import sweep_stale_designs
    from marketplace.tasks import sweep_listings
    from mockups.tasks import sweep_stale_mockups
    from orders.tasks import sweep_outgoing_mail
    from project.tasks import prune_task_results

    return [
        Periodic("designs: re-enqueue stale designs", sweep_stale_designs, minutes=1),
        Periodic("orders: send queued mail", sweep_outgoing_mail, minutes=1),
        Periodic("marketplace: resume listings, refresh tokens", sweep_listings, minutes=1),
        Periodic("mockups: re-enqueue stale mockups", sweep_stale_mockups, minutes=1),
        Periodic("tasks: prune old results", prune_task_results, minutes=1),
    ]
