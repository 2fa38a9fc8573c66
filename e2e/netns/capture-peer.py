#!/usr/bin/env python3
"""Test peer for the capture tests (Node cannot read SO_ORIGINAL_DST, so this small helper does).

  capture-peer.py serve PORT TEXT      answer every connection with TEXT
  capture-peer.py capture PORT         answer with captured:PORT:<original dst ip>:<original dst port>
  capture-peer.py connect IP PORT [UID] connect (as UID when given), print what the server says
"""
import encodings.idna  # noqa: F401  (loaded before setuid drops access to the stdlib)
import os
import socket
import struct
import sys
import threading

SO_ORIGINAL_DST = 80


def serve(port, reply):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=lambda c=c: (c.sendall(reply(c).encode()), c.close()), daemon=True).start()


def original_dst(c):
    raw = c.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, ip = struct.unpack("!2xH4s8x", raw)
    return socket.inet_ntoa(ip), port


def main():
    mode = sys.argv[1]
    if mode == "serve":
        text = sys.argv[3]
        serve(int(sys.argv[2]), lambda c: text)
    elif mode == "capture":
        port = int(sys.argv[2])
        serve(port, lambda c: "captured:%d:%s:%d" % ((port,) + original_dst(c)))
    elif mode == "connect":
        if len(sys.argv) > 4:
            os.setgid(int(sys.argv[4]))
            os.setuid(int(sys.argv[4]))
        s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=3)
        print(s.recv(200).decode(), flush=True)
    else:
        sys.exit("unknown mode " + mode)


main()
