"""Child processes that cannot outlive their parent.

A launched node graph left running after its parent was killed keeps answering on the same
ROS domain: the next run then talks to two dialog nodes at once. Linux's PR_SET_PDEATHSIG
sends the child a signal when the parent dies, however it dies (SIGKILL included); the
child's own SIGTERM handling then stops it cleanly (the launch supervisor stops its nodes).

Caveat (from prctl(2)): the signal fires when the *thread* that started the child exits,
so start long-lived children from a thread that lives as long as the parent (the main one).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``sig`` when we die."""
    parent = os.getpid()

    def arm() -> None:  # runs in the child, between fork and exec
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), sig)

    return arm
