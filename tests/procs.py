"""Real processes for tests: start, watch their log lines, wait on observable state with deadlines."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


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
