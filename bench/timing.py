"""Small helpers shared by the benchmarks: repeat, summarise, print a table."""

import statistics
import time


def measure(func, *, runs, warmup=2):
    """Run `func` warmup + runs times; returns the timings of the measured runs in milliseconds."""
    for _ in range(warmup):
        func()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def own_peak_rss_mb():
    """This process's peak RSS in MB. VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's RSS."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def summary(timings):
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def print_table(headers, rows):
    """A plain-text table: first column left-aligned, the rest right-aligned."""
    table = [[str(cell) for cell in headers]] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for number, row in enumerate(table):
        print("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                        for i, (cell, width) in enumerate(zip(row, widths, strict=True))))
        if number == 0:
            print("  ".join("-" * width for width in widths))
