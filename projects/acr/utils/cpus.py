"""The number of CPUs this process may run on."""
import os


def available_cpus() -> int:
    """CPUs in this process's affinity mask (all CPUs where the system has no such mask)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
