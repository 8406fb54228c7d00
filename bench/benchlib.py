"""What the benchmarks share: memory figures of a process, and the suite."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("ANKICOLLAB_BUILD", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from suite import Suite, free_port, wait_for  # noqa: E402,F401


def status_kb(pid, key):
    """A /proc/PID/status figure in KiB (VmRSS, VmHWM, ...)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def pss_kb(pid):
    """Proportional set size: shared pages divided among their users."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise KeyError("Pss")


def row(name, value, unit, ref=None, ref_name="", goal=""):
    """One figure, its same-run reference and the ratio, on one line."""
    text = f"{name:<44} {value:>10.1f} {unit:<6}"
    if ref is not None:
        text += f" ref {ref:>10.1f} {unit:<6} ({ref_name})  ratio {value / ref:6.2f}"
    if goal:
        text += f"  goal {goal}"
    print(text, flush=True)
