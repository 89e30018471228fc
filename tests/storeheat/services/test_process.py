"""Stopping real processes the way the service runners do (storeheat.services.process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from storeheat.services.process import group_members, pid_alive, terminate

# A parent that leaves a child behind when it exits, both ignoring SIGINT: what a shutdown
# that signals only the parent, or gives up at the first signal, would orphan.
STUBBORN_GROUP = (
    "import signal, subprocess, sys, time\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "subprocess.Popen([sys.executable, '-c', 'import signal, time; "
    "signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)'])\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def stubborn_group() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", STUBBORN_GROUP], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield proc
    if group_members(proc.pid):  # the test failed half-way
        terminate(proc.pid, timeout_s=0.1, group=True)
    proc.wait(timeout=10)


def test_group_stop_escalates_until_no_process_of_the_group_is_left(
    stubborn_group: subprocess.Popen[str],
) -> None:
    pgid = stubborn_group.pid
    assert len(group_members(pgid)) == 2

    clean = terminate(pgid, timeout_s=0.5, group=True, sig=signal.SIGINT)

    assert clean is False  # SIGINT was ignored: it took SIGTERM
    assert group_members(pgid) == []
    assert stubborn_group.wait(timeout=10) == -signal.SIGTERM


def test_pid_stop_that_the_process_honours_is_clean() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            start_new_session=True)

    assert terminate(proc.pid, timeout_s=30) is True

    assert not pid_alive(proc.pid)
    assert proc.wait(timeout=10) == -signal.SIGTERM


def test_stopping_a_process_that_has_exited_is_clean() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    # Not reaped yet (a zombie keeps its pid), so no other process can have taken the pid.
    while pid_alive(proc.pid):
        time.sleep(0.05)

    assert terminate(proc.pid, timeout_s=1, group=True) is True
    assert terminate(proc.pid, timeout_s=1) is True
    assert proc.wait(timeout=10) == 0
