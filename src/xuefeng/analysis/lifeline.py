"""Worker processes end with the process that started them, however it dies.

A local ensemble's workers are forked children of the command. If the command
is killed (`kill -9`, an out-of-memory kill, a closed terminal), nothing tells
them, and each would finish its chunk and wait for more work forever. Each
worker therefore asks the kernel for SIGKILL when its parent dies (Linux
`prctl(PR_SET_PDEATHSIG)`) and, where that is not available or the parent was
already gone, watches its parent's pid from a daemon thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

#: prctl option: deliver a signal to this process when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: Seconds between the watchdog's looks at the parent pid.
WATCH_SECONDS = 1.0


def _parent_death_signal() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)  # the parent is gone: nobody will collect this worker's results
        threading.Event().wait(WATCH_SECONDS)


def tie_to_parent(parent_pid: int) -> None:
    """Make this (worker) process end when `parent_pid`, its parent, ends."""
    _parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), name="xuefeng-lifeline", daemon=True).start()
