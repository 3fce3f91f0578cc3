#!/usr/bin/env python3
"""A loopback HTTPS proxy that lets an unmodified Google API client (clasp, through gaxios) talk
to the Apps Script stand-in instead of Google.

The client is started with HTTPS_PROXY=http://127.0.0.1:<port> (gaxios honours it) and
NODE_EXTRA_CA_CERTS=<cert> (the self-signed certificate this proxy presents for every Google
host). Each CONNECT is answered by this process itself: the TLS session ends here and every
request inside it is replayed as plain HTTP to the stand-in given by --upstream, with the same
method, path, query, headers and body. Nothing is ever forwarded anywhere else: no connection
leaves 127.0.0.1. Each request is logged to stderr as `<METHOD> <host><path>`.

    google_tls_proxy.py --upstream http://127.0.0.1:4321 --cert c.pem --key k.pem

prints the port it listens on as its first line of stdout. Standard library only.
"""
import argparse
import http.client
import http.server
import socket
import ssl
import sys
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()
    up = urllib.parse.urlsplit(args.upstream)
    if up.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the upstream must be on loopback")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)

    class Inner(http.server.BaseHTTPRequestHandler):
        """One request inside the TLS tunnel, replayed to the stand-in."""

        protocol_version = "HTTP/1.1"
        host = "?"

        def log_message(self, fmt, *a):
            pass

        def relay(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            headers.pop("Host", None)
            sys.stderr.write(f"{self.command} {self.host}{self.path}\n")
            sys.stderr.flush()
            c = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            c.request(self.command, self.path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            c.close()

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = relay

    class Outer(http.server.BaseHTTPRequestHandler):
        """The proxy's own connection: CONNECT only."""

        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_CONNECT(self):
            host = self.path.rsplit(":", 1)[0]
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            try:
                conn = tls.wrap_socket(self.connection, server_side=True)
            except (ssl.SSLError, OSError) as e:
                sys.stderr.write(f"TLS handshake for {host} failed: {e}\n")
                self.close_connection = True
                return
            handler = type("H", (Inner,), {"host": host})
            try:
                handler(conn, self.client_address, self.server)
            except (ssl.SSLError, OSError):
                pass
            self.close_connection = True

        def do_GET(self):
            self.send_error(405, "CONNECT only")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Outer)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
