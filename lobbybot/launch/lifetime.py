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
import threading
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


def stop_on_signals(stop: threading.Event,
                    announce: Callable[[signal.Signals], None] | None = None,
                    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
    """Set ``stop`` when one of ``signals`` arrives, without taking a lock in the handler.

    A handler that calls ``Event.set()`` (or logs) takes a lock in the main thread; a second
    signal arriving while it holds that lock (SIGTERM from a dying parent right after SIGINT),
    or a signal landing while the main thread itself is inside ``stop.wait()``, deadlocks the
    process for good: a bus left like that outlived its killed launch. The handler here only
    writes the signal number to a pipe (a system call, no lock); a watcher thread sets the
    event and calls ``announce``.
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def watch() -> None:
        while True:
            data = os.read(read_fd, 1)
            if not data:
                return
            if announce is not None:
                announce(signal.Signals(data[0]))
            stop.set()

    threading.Thread(target=watch, name="signal-watch", daemon=True).start()

    def handler(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):  # the pipe is full: a stop is already pending
            os.write(write_fd, bytes([signum]))

    for sig in signals:
        signal.signal(sig, handler)
