"""Peak memory of a benchmark's processes, read from /proc: shared by the `spark` and `flink`
engines' scripts (bench/spark, bench/flink), which count their own process and the JVM below it.
"""

import os


def vm_hwm_mb(pid):
    """The peak resident set of process `pid` in MiB, from /proc; None where it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def descendants(root):
    """The ids of every process below `root`, read from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command name may hold spaces and parentheses: the fields after it
                # start after the last ')'.
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found
