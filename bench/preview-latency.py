#!/usr/bin/env python3
"""Save-to-reload latency of `galley serve`: subscribe to the preview's event stream, edit
one post, time until the `reload` event. Usage:

    galley serve SITE --port 15004 &          # a copy of a synthetic site (galley-bench generate)
    bench/preview-latency.py SITE 15004 [RUNS]
"""
import glob
import socket
import sys
import time

site, port = sys.argv[1], int(sys.argv[2])
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(120)
s.sendall(b"GET /__galley/events HTTP/1.1\r\nHost: x\r\n\r\n")
buf = b""
while b"galley preview" not in buf:
    buf += s.recv(4096)
posts = sorted(glob.glob(f"{site}/_posts/**/*.md", recursive=True))
post = posts[len(posts) // 2]
times = []
for i in range(runs):
    text = open(post).read()
    started = time.time()
    open(post, "w").write(text + f"\nedit {i}\n")
    buf = b""
    while b"event: reload" not in buf:
        buf += s.recv(4096)
    times.append((time.time() - started) * 1000)
print("save-to-reload ms:", " ".join(f"{t:.0f}" for t in times))
