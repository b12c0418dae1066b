#!/usr/bin/env python3
"""A lying replica for tests/e2e/flow_lying_replica.sh (test double).

    flow_lying_replica.py PORT [UPSTREAM_URL]

Serves the node HTTP API on 127.0.0.1:PORT. With an upstream it forwards
every request to that real replica and, depending on the mode, forges the
receipt of committed transactions. Without an upstream ("forge" mode) it
accepts any tx and claims it committed with a made-up block and certificate.

The mode is switched with POST /__mode (body: the mode name):
  honest      pass everything through unchanged
  merkle      add a bogus sibling to the Merkle path
  leaf        claim another leaf index (and index)
  cert-sig    flip a byte of the first certificate signature
  cert-short  keep only 2 certificate signatures (below the 2f+1 quorum)
  other-tx    answer with the receipt of an earlier committed tx
  result      genuine receipt, but claims the tx failed (insufficient_funds)
  forge       no upstream: fabricated block, certificate of random bytes
"""
import hashlib
import http.server
import json
import os
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request

PORT = int(sys.argv[1])
UPSTREAM = sys.argv[2].rstrip("/") if len(sys.argv) > 2 else None
state = {"mode": "honest" if UPSTREAM else "forge", "seen": {}, "forged": {}}


def sha256(b):
    return hashlib.sha256(b).digest()


def tamper(answer):
    mode = state["mode"]
    r = answer["receipt"]
    if mode == "result":
        answer["result"] = "insufficient_funds" if answer["result"] == "ok" else "ok"
        return answer
    if mode == "merkle":
        r["proof"]["siblings"].append("ab" * 32)
    elif mode == "leaf":
        n = int(r["proof"]["leaf_count"])
        i = (int(r["proof"]["leaf_index"]) + 1) % max(n, 2)
        r["proof"]["leaf_index"] = i
        answer["index"] = i
    elif mode in ("cert-sig", "cert-short"):
        cert = bytearray.fromhex(r["cert"])
        head = 8 + 8 + 32
        if mode == "cert-sig":
            cert[head + 2 + 2 + 20] ^= 0x01  # count(2) replica(2) then sig; a byte inside r
        else:
            count = struct.unpack_from("<H", cert, head)[0]
            keep = min(count, 2)
            cert = cert[: head + 2 + keep * 66]
            struct.pack_into("<H", cert, head, keep)
        r["cert"] = cert.hex()
    elif mode == "other-tx":
        others = [a for i, a in state["seen"].items() if i != answer["id"]]
        if others:
            fake = json.loads(json.dumps(others[-1]))
            fake["id"] = answer["id"]
            return fake
        r["proof"]["siblings"].append("cd" * 32)
    return answer


def forged_answer(tx_hex):
    tx = bytes.fromhex(tx_hex)
    tx_id = sha256(tx[:-64])
    header = struct.pack("<IQQQ", 1, 1, 0, 1700000000000) + bytes(32) + sha256(b"\x00" + tx_id)
    header += struct.pack("<II", 1, 0) + bytes(32)
    cert = struct.pack("<QQ", 0, 1) + sha256(header) + struct.pack("<H", 3)
    for replica in range(3):
        cert += struct.pack("<H", replica) + os.urandom(64)
    return {"id": tx_id.hex(), "status": "committed", "height": "1", "index": 0, "result": "ok",
            "receipt": {"tx": tx_hex, "header": header.hex(),
                        "proof": {"leaf_index": 0, "leaf_count": 1, "siblings": []},
                        "cert": cert.hex()}}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("lying-replica: " + (fmt % args) + "\n")

    def reply(self, status, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def forward(self, method, body=None):
        req = urllib.request.Request(UPSTREAM + self.path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", self.headers.get("Content-Type", "application/json"))
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/__mode":
            state["mode"] = body.decode().strip()
            return self.reply(200, {"mode": state["mode"]})
        if state["mode"] == "forge":
            tx_hex = json.loads(body)["tx"]
            answer = forged_answer(tx_hex)
            state["forged"][answer["id"]] = answer
            return self.reply(202, {"id": answer["id"], "status": "queued"})
        status, data = self.forward("POST", body)
        return self.reply(status, data)

    def do_GET(self):
        if state["mode"] == "forge":
            path = urllib.parse.urlsplit(self.path).path  # without ?wait_ms=
            if path.startswith("/tx/"):
                answer = state["forged"].get(path[4:])
                if answer:
                    return self.reply(200, answer)
                return self.reply(404, {"id": path[4:], "status": "unknown"})
            if self.path.startswith("/account/"):
                return self.reply(200, {"address": self.path.split("/")[2], "balance": "1000000",
                                        "nonce": "0", "height": "1"})
            if self.path == "/health":
                return self.reply(200, {"status": "ok"})
            return self.reply(404, {"error": "not_found", "message": "forge mode"})
        status, data = self.forward("GET")
        if status == 200 and self.path.startswith("/tx/"):
            answer = json.loads(data)
            if answer.get("status") == "committed":
                if state["mode"] == "honest":
                    state["seen"][answer["id"]] = answer
                else:
                    answer = tamper(answer)
                data = json.dumps(answer).encode()
        return self.reply(status, data)


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
