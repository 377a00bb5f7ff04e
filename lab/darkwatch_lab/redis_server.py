"""A throw-away redis-server (Debian's) on loopback, for the scale-out tests and bench.

Loopback only, no persistence unless asked: it holds a crawl round's queue, nothing more.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

from crawler.netpolicy import free_ports


def free_port() -> int:
    """One free loopback port (the product's port helper: crawler.netpolicy)."""
    return free_ports(1)[0]


class RedisServer:
    def __init__(self, workdir: str, persistent: bool = False, port: int | None = None) -> None:
        exe = shutil.which("redis-server")
        if not exe:
            raise RuntimeError("redis-server is not installed: run scripts/setup.sh "
                               "(Debian package redis-server)")
        self.exe, self.workdir = exe, workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        # Persistent: every write fsynced to the append-only file, so a restart loses nothing.
        self.persistence = (["--appendonly", "yes", "--appendfsync", "always"] if persistent
                            else ["--appendonly", "no"])

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             *self.persistence, "--dir", self.workdir, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
