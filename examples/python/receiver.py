"""A Hookhub webhook receiver with Python's standard library only.

It checks the Standard Webhooks signature Hookhub sends (HMAC-SHA256 with the subscription's
whsec_ secret over "{webhook-id}.{webhook-timestamp}.{raw body}"), puts the event on a queue,
answers 204 at once and handles the event in a worker thread.

    HOOKHUB_SECRET=whsec_... PORT=4000 python3 receiver.py
"""
import base64
import hashlib
import hmac
import json
import os
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60
MAX_BODY = 1024 * 1024


def verify(secret: str, headers, body: bytes) -> str:
    """Returns the webhook-id when one of the v1 signatures matches; raises ValueError otherwise."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not webhook_id or not timestamp.isdigit() or not signatures:
        raise ValueError("missing webhook-id, webhook-timestamp or webhook-signature")
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise ValueError("webhook-timestamp is more than 5 minutes away")
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # During a secret rotation there is one signature per secret, space-separated.
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return webhook_id
    raise ValueError("no signature matches")


SECRET = os.environ.get("HOOKHUB_SECRET")
jobs: "queue.Queue[tuple[str, dict]]" = queue.Queue()


def worker() -> None:
    # Your work goes here; it runs after Hookhub has its answer. Dedupe on webhook-id.
    while True:
        webhook_id, event = jobs.get()
        print(f"verified {webhook_id} {event['type']} {event['id']}", flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self.send_response(413)
            self.end_headers()
            return
        body = self.rfile.read(length)  # the raw bytes: the signature covers them exactly
        try:
            webhook_id = verify(SECRET, self.headers, body)
        except ValueError as err:
            print(f"refused: {err}", flush=True)
            self.send_response(401)
            self.end_headers()
            return
        jobs.put((webhook_id, json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # quiet access log
        pass


if __name__ == "__main__":
    if not SECRET:
        sys.exit("Set HOOKHUB_SECRET to the subscription's whsec_ secret.")
    threading.Thread(target=worker, daemon=True).start()
    port = int(os.environ.get("PORT", "4000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{port}/webhooks", flush=True)
    server.serve_forever()
