"""Periodic tasks: each installed app lists its own in `<app>.tasks.PERIODIC`; `setup_schedules` creates them."""

from importlib import import_module, util

from django.apps import apps


def periodic_tasks():
    """Every installed app's PERIODIC list, in INSTALLED_APPS order."""
    found = []
    for config in apps.get_app_configs():
        module_name = f"{config.name}.tasks"
        if util.find_spec(module_name) is not None:
            found += getattr(import_module(module_name), "PERIODIC", [])
    return found
