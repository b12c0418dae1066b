#!/usr/bin/env python3
"""tests/bench/free_base_port.py [COUNT] — prints a base port P, even, such
that P .. P+COUNT-1 (default 16) are free on 127.0.0.1 right now (bound
without SO_REUSEADDR: as strict as the replicas are); nothing when 200 random
tries all collide. Used by the benchmark scripts."""
import random
import socket
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 16
for _ in range(200):
    base = random.randrange(20000, 60000 - count, 2)
    socks = []
    try:
        for port in range(base, base + count):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", port))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
