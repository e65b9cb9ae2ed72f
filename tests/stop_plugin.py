"""An observer that signals its own process at the end of an epoch, for the resume tests.

FBN_TEST_STOP_EPOCH: the epoch; FBN_TEST_STOP_SIGNAL: KILL (as `kill -9`: nothing runs after it) or TERM / USR1
(a scheduler's preemption: the run saves its state and stops). FBN_TEST_STOP_ONCE: a file; when given, the signal
is sent only while it does not exist, and it is created first (a requeued job hears the epochs again)."""

from __future__ import annotations

import os
import signal

from fbn_bench import hookimpl


@hookimpl
def on_epoch_end(run, epoch, logs):
    if epoch == int(os.environ.get("FBN_TEST_STOP_EPOCH", "0")):
        once = os.environ.get("FBN_TEST_STOP_ONCE")
        if once:
            if os.path.exists(once):
                return
            open(once, "w").close()
        os.kill(os.getpid(), getattr(signal, "SIG" + os.environ.get("FBN_TEST_STOP_SIGNAL", "KILL")))
