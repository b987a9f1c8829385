"""Every place where Threadline patches a library, one module per library, each fenced by START/END markers.

Each module names the versions it was written against (VERSIONS, pinned in requirements.txt) and lists, through
missing_names(), what it relies on. The system check below fails at start-up when a name is gone and warns when
an installed version differs from the one the patch was written against.
"""

from importlib import import_module, metadata

from django.core import checks

MODULES = ("core.patches.django_q2", "core.patches.sftp_storage", "core.patches.django_db_pool")


@checks.register()
def check_patches(app_configs=None, **kwargs):
    problems = []
    for name in MODULES:
        module = import_module(name)
        for library, written_for in module.VERSIONS.items():
            installed = metadata.version(library)
            if installed != written_for:
                problems.append(checks.Warning(
                    f"{name} patches {library} {written_for}, but {installed} is installed",
                    hint=f"re-read {name} against {library} {installed}, then update its VERSIONS and requirements.txt",
                    id="core.W001"))
        problems += [checks.Error(f"{name} relies on {missing}, which is gone",
                                  hint=f"re-read {name} against the installed version", id="core.E001")
                     for missing in module.missing_names()]
    return problems
