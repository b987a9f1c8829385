"""`python -m bench designs|orders|imaging|mockups|marketplace|duplicates|load`: benchmark tables (load: the app
under load)."""

import os
import sys

SUITES = {"imaging": "bench.imaging", "orders": "bench.orders", "designs": "bench.designs",
          "marketplace": "bench.marketplace", "mockups": "bench.mockups", "load": "bench.load",
          "duplicates": "bench.duplicates"}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in SUITES:
        sys.exit(f"usage: python -m bench {{{'|'.join(SUITES)}}} [options]")
    name = sys.argv.pop(1)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import importlib

    importlib.import_module(SUITES[name]).main()


if __name__ == "__main__":
    main()
