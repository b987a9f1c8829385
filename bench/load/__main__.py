"""`python -m bench.load` works too; `python -m bench load` is the usual way."""

import os

from bench.load import main

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
main()
