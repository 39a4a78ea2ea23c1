"""Real processes for tests: start, watch their log lines, wait on observable state with deadlines."""

from __future__ import annotations

import ctypes
import os
import resource
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2  # what lets root read and list whatever the permissions say


def confined(memory: int | None = None) -> Callable[[], None]:
    """A ``preexec_fn``: the child is bound by file permissions as any user is, root too, and
    by ``memory`` bytes of address space if given. Root loses the two capabilities that let
    it read anything from its bounding set, so the program it runs never gets them (a chmod
    000 folder is then as unreadable to it as a network mount that went away)."""

    def setup() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if os.geteuid() == 0:
            libc = ctypes.CDLL(None, use_errno=True)
            for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
                if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    return setup


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Proc:
    """A child process whose combined output is collected line by line."""

    def __init__(self, args: list[str], *, env: dict[str, str], cwd: Path, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def feeds(cls, *args: str, env: dict[str, str], cwd: Path, name: str = "feeds") -> Proc:
        return cls([sys.executable, "-m", "feeds", *args], env=env, cwd=cwd, name=name)

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return "\n".join(self.lines)

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def wait_for_line(self, text: str, timeout: float = 30) -> None:
        def check() -> bool:
            if self.saw(text):
                return True
            if self.popen.poll() is not None:
                self._reader.join(2)
                if self.saw(text):
                    return True
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}) before {text!r}:\n{self.output()}")
            return False

        try:
            wait_until(check, timeout, f"{self.name} to log {text!r}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- {self.name} output ---\n{self.output()}") from None

    def wait(self, timeout: float = 30) -> int:
        code = self.popen.wait(timeout)
        self._reader.join(5)
        return code

    def stop(self) -> Any:
        if self.popen.poll() is None:
            self.popen.kill()
        return self.wait()


def procfile() -> dict[str, str]:
    """The Procfile's process types and their command lines."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def procfile_command(kind: str) -> list[str]:
    """A Procfile line as argv: this interpreter, and a web process bound to 127.0.0.1 only."""
    argv = shlex.split(procfile()[kind])
    assert argv[:3] == ["python", "-m", "feeds"], argv
    return [sys.executable, *("127.0.0.1" if arg == "0.0.0.0" else arg for arg in argv[1:])]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_web(env: dict[str, str], cwd: Path, name: str = "web") -> tuple[Proc, int]:
    """The Procfile's ``web`` process on a free port (``PORT``, as a platform sets it),
    started and answering HTTP; returns it and its port."""
    port = free_port()
    web = Proc(procfile_command("web"), env={**env, "PORT": str(port)}, cwd=cwd, name=name)

    def answers() -> bool:
        if web.popen.poll() is not None:
            raise AssertionError(f"{name} exited ({web.popen.returncode}) before listening:\n{web.output()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"GET /healthz HTTP/1.0\r\nHost: t\r\n\r\n")
                return conn.recv(12).startswith(b"HTTP/1.")
        except OSError:
            return False

    try:
        wait_until(answers, 30, f"{name} to answer on port {port}", interval=0.1)
    except AssertionError as exc:
        web.stop()
        raise AssertionError(f"{exc}\n--- {name} output ---\n{web.output()}") from None
    return web, port
