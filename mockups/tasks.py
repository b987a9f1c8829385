"""Worker entry points: ids in, one service call, nothing else."""

from core.tasks import Periodic
from mockups import services


def render_mockup(mockup_id):
    services.mockup_render(mockup_id=mockup_id)


def requeue_template_mockups(template_id):
    return services.mockup_requeue_template(template_id=template_id)


def sweep_stale_mockups():
    return services.mockup_sweep_stale()


PERIODIC = [Periodic("mockups: re-enqueue stale mockups", sweep_stale_mockups, minutes=1)]
