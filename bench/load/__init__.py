"""`python -m bench load`: the app under load as in production, on loopback only (see bench/load/run.py)."""


def main():
    from bench.load.run import main as run

    run()
