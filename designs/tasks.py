"""Worker entry points: ids in, one service call, nothing else."""

from core.tasks import Periodic
from designs import services


def process_design(design_id):
    services.design_process(design_id=design_id)


def fingerprint_design(design_id):
    services.design_fingerprint(design_id=design_id)


def sweep_stale_designs():
    return services.design_sweep_stale()


PERIODIC = [Periodic("designs: re-enqueue stale designs", sweep_stale_designs, minutes=1)]
