"""A loopback HTTP server that records every connection and request (the tests' witness)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        srv: CountingServer = self.server  # type: ignore[assignment]
        with srv.lock:
            srv.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in
                                                                 self.headers.items()}})
        path = self.path.split("?", 1)[0]
        status = int(path.split("/")[2]) if path.startswith("/status/") else 200
        if self.path.startswith("/slow/"):
            import time

            time.sleep(float(self.path.split("/")[2]))
        if self.path.startswith("/binary"):
            body, ctype = b"\x89PNG\r\n\x1a\n" + b"\0" * 100_000, "image/png"
        else:
            body = (f"<!DOCTYPE html><html><head><title>echo {self.path}</title></head>"
                    f"<body><p>path={self.path}</p></body></html>").encode()
            ctype = "text/html; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls_dir: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), EchoHandler)
        if tls_dir is not None:
            import ssl

            cert, key = self_signed(tls_dir)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[dict] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def get_request(self):  # type: ignore[no-untyped-def]
        conn = super().get_request()
        with self.lock:
            self.connections += 1
        return conn

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> CountingServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def reset(self) -> None:
        with self.lock:
            self.connections = 0
            self.requests.clear()


def self_signed(directory: str) -> tuple[str, str]:
    """A throwaway self-signed certificate, as onion sites often have."""
    import datetime
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed.onion")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    d = Path(directory)
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return str(d / "cert.pem"), str(d / "key.pem")
