"""Child processes that die with their parent, log to files, and stop cleanly in reverse order."""

from __future__ import annotations

import ctypes
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` asking Linux to send `signum` to the child when its parent dies (even by kill -9)."""

    def preexec() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)

    return preexec


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: int = signal.SIGTERM

    @property
    def running(self) -> bool:
        return self.process.poll() is None


@dataclass
class Supervisor:
    """Starts children and stops them all (last started, first stopped)."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        cwd: Path | None = None,
    ) -> Child:
        """Start `argv`; with `user`, as that user with its own group only (root's groups would leak)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                list(argv),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                **as_user(user),
                cwd=cwd,
                preexec_fn=die_with_parent(stop_signal),
            )
        child = Child(name, process, log_path, stop_signal)
        self.children.append(child)
        return child

    def stop(self, child: Child, timeout: float = 15.0) -> None:
        if child.running:
            child.process.send_signal(child.stop_signal)
            try:
                child.process.wait(timeout)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(5)
        if child in self.children:
            self.children.remove(child)

    def stop_all(self, timeout: float = 15.0) -> None:
        for child in reversed(list(self.children)):
            if child.running:
                child.process.send_signal(child.stop_signal)
        deadline = time.monotonic() + timeout
        for child in reversed(list(self.children)):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(5)
        self.children.clear()

    def dead(self) -> list[Child]:
        return [child for child in self.children if not child.running]


def as_user(user: str | None) -> dict[str, Any]:
    """Popen arguments to run as `user` with its primary group and no supplementary groups."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def kill_tree_on_exit() -> None:
    """Make SIGTERM/SIGINT raise KeyboardInterrupt in the launcher so `finally` blocks stop the children."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
