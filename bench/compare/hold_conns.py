#!/usr/bin/env python3
"""Open N keep-alive connections, send one GET on each, read each full response, then keep the
sockets open and idle (the phone pattern: one manifest request, then silence).

usage: hold_conns.py HOST PORT PATH HEADERS_FILE N STATUS_FILE [--ready-timeout S] [--hold S]

HEADERS_FILE holds "Name: value" lines sent with every request. All connects and requests go out
at once (non-blocking, one thread), like a burst of devices. When every response is in (or
--ready-timeout passes) a line "READY ..." is written to STATUS_FILE; the sockets then stay open,
idle, until SIGTERM/SIGINT or --hold seconds, and the final line "DONE ..." says how many the server
closed meanwhile. Both lines are key=value:
  ok        responses fully received (any status)   s2xx  of them with a 2xx status
  failed    connect errors, resets or closes before a full response
  pending   still waiting for (part of) a response at READY time
  t50_ms t99_ms tmax_ms   time from connect start to full response, over the ok ones
  open      sockets still open          closed_by_server   sockets the server closed after answering
Loopback use only; every wait is bounded.
"""
import errno
import os
import selectors
import signal
import socket
import sys
import time


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


class Conn:
    __slots__ = ("sock", "t0", "t_done", "buf", "state", "need", "status", "out")

    def __init__(self, sock, request):
        self.sock, self.t0, self.t_done = sock, time.monotonic(), None
        self.buf, self.state, self.need, self.status, self.out = b"", "connecting", None, 0, request


def parse_head(c):
    """Parse status and headers once the head is in; returns False if more bytes are needed."""
    end = c.buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    head, rest = c.buf[:end].decode("latin-1"), c.buf[end + 4:]
    lines = head.split("\r\n")
    c.status = int(lines[0].split()[1])
    length, chunked = None, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    c.buf = rest
    if chunked:
        c.state, c.need = "chunked", None
    else:
        c.state, c.need = "body", length or 0
    return True


def chunked_complete(buf):
    """True when a chunked body is complete (ends with the zero-size chunk and its CRLF)."""
    pos = 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return False
        size = int(buf[pos:eol].split(b";")[0], 16)
        if size == 0:
            return buf.find(b"\r\n\r\n", eol) >= 0 or buf[eol:eol + 4] == b"\r\n\r\n"
        pos = eol + 2 + size + 2
        if pos > len(buf):
            return False


def main():
    args = sys.argv[1:]
    opts = {"--ready-timeout": 60.0, "--hold": 600.0}
    pos = []
    i = 0
    while i < len(args):
        if args[i] in opts:
            opts[args[i]] = float(args[i + 1])
            i += 2
        else:
            pos.append(args[i])
            i += 1
    host, port, path, headers_file, n, status_file = pos[0], int(pos[1]), pos[2], pos[3], int(pos[4]), pos[5]
    extra = [l.strip() for l in open(headers_file) if ":" in l]
    request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n" % (
        path, host, port, "".join(h + "\r\n" for h in extra))).encode("latin-1")

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.__setitem__("flag", True))
    signal.signal(signal.SIGINT, lambda *a: stop.__setitem__("flag", True))

    sel = selectors.DefaultSelector()
    conns, failed = [], 0
    start = time.monotonic()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.connect_ex((host, port))
        if err not in (0, errno.EINPROGRESS):
            failed += 1
            s.close()
            continue
        c = Conn(s, request)
        conns.append(c)
        sel.register(s, selectors.EVENT_WRITE, c)

    def fail(c):
        nonlocal failed
        failed += 1
        c.state = "failed"
        sel.unregister(c.sock)
        c.sock.close()

    def on_event(c, mask):
        if c.state == "connecting" and mask & selectors.EVENT_WRITE:
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return fail(c)
            c.state = "sending"
        if c.state == "sending" and mask & selectors.EVENT_WRITE:
            try:
                sent = c.sock.send(c.out)
            except OSError:
                return fail(c)
            c.out = c.out[sent:]
            if not c.out:
                c.state = "head"
                sel.modify(c.sock, selectors.EVENT_READ, c)
            return
        if mask & selectors.EVENT_READ:
            try:
                data = c.sock.recv(262144)
            except OSError:
                data = b""
                if c.state == "idle":
                    return closed_idle(c)
                return fail(c)
            if not data:
                if c.state == "idle":
                    return closed_idle(c)
                return fail(c)
            if c.state == "idle":
                return  # unexpected bytes on an idle connection: ignore
            c.buf += data
            if c.state == "head" and not parse_head(c):
                return
            done = (c.state == "body" and len(c.buf) >= c.need) or (c.state == "chunked" and chunked_complete(c.buf))
            if done:
                c.t_done, c.state, c.buf = time.monotonic(), "idle", b""

    closed = {"n": 0}

    def closed_idle(c):
        closed["n"] += 1
        c.state = "closed"
        sel.unregister(c.sock)
        c.sock.close()

    deadline = start + opts["--ready-timeout"]
    while not stop["flag"] and time.monotonic() < deadline:
        if all(c.state in ("idle", "failed", "closed") for c in conns):
            break
        for key, mask in sel.select(timeout=0.2):
            on_event(key.data, mask)

    def summary(tag):
        times = [(c.t_done - c.t0) * 1000.0 for c in conns if c.t_done is not None]
        ok = len(times)
        s2xx = sum(1 for c in conns if c.t_done is not None and 200 <= c.status < 300)
        pending = sum(1 for c in conns if c.state in ("connecting", "sending", "head", "body", "chunked"))
        still_open = sum(1 for c in conns if c.state == "idle")
        line = ("%s n=%d ok=%d s2xx=%d failed=%d pending=%d t50_ms=%.1f t99_ms=%.1f tmax_ms=%.1f open=%d "
                "closed_by_server=%d elapsed_s=%.1f\n" % (
                    tag, n, ok, s2xx, failed, pending, percentile(times, 50), percentile(times, 99),
                    max(times) if times else float("nan"), still_open, closed["n"], time.monotonic() - start))
        with open(status_file, "a") as f:
            f.write(line)

    summary("READY")
    hold_until = time.monotonic() + opts["--hold"]
    while not stop["flag"] and time.monotonic() < hold_until:
        for key, mask in sel.select(timeout=0.2):
            on_event(key.data, mask)
    summary("DONE")
    for c in conns:
        if c.state not in ("failed", "closed"):
            c.sock.close()


if __name__ == "__main__":
    main()
