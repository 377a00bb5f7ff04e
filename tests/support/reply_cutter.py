"""A loopback TCP proxy in front of a real redis-server that can lose a reply.

The failure it reproduces is the one a Redis restart causes: the server has run a command
(and logged it to its append-only file) when the connection drops, so the client never reads
the reply and cannot tell "done" from "not done". Armed with a byte pattern, the proxy
forwards the next command that contains it, waits for the server's reply, drops the reply
and closes the connection. Every other command, and every later connection, goes through.
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress

from tests.support.receivers import free_port


class ReplyCutter:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.port = free_port()
        self._patterns: list[bytes] = []
        self.cut = 0  # replies dropped so far
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def arm(self, pattern: bytes, times: int = 1) -> None:
        """Lose the reply of the next ``times`` commands that contain ``pattern``."""
        with self._lock:
            self._patterns += [pattern] * times

    def close(self) -> None:
        self._stop = True
        with suppress(OSError):
            self._listener.close()

    def _take(self, data: bytes) -> bool:
        with self._lock:
            for i, pattern in enumerate(self._patterns):
                if pattern in data:
                    del self._patterns[i]
                    return True
        return False

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._serve, args=(client, server), daemon=True).start()

    def _serve(self, client: socket.socket, server: socket.socket) -> None:
        """One connection, pumped both ways; a cut drops the reply and closes both ends.

        redis-py reads each reply (or a pipeline's replies) before it sends again, so the
        first bytes back after an armed command are that command's reply."""
        armed = threading.Event()

        def close() -> None:
            for s in (client, server):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with suppress(OSError):
                    s.close()

        def replies() -> None:
            try:
                while data := server.recv(65536):
                    if armed.is_set():
                        self.cut += 1
                        return  # the server has run the command; its reply is lost
                    client.sendall(data)
            except OSError:
                pass
            finally:
                close()

        threading.Thread(target=replies, daemon=True).start()
        try:
            while data := client.recv(65536):
                if self._take(data):
                    armed.set()
                server.sendall(data)
        except OSError:
            pass
        finally:
            if not armed.is_set():
                close()
