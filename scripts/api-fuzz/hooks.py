"""Schemathesis hooks for the signed device API (scripts/api-fuzz.sh).

Every generated request is sent as a real device sends it: X-Device, X-Timestamp, X-Nonce and
X-Signature set over exactly the bytes of the body as sent, with the device's
Ed25519 key (YKT_FUZZ_DEVICE, YKT_FUZZ_KEY). Without this, every case would stop at 401 and the
fuzzer would test nothing but the signature check.
"""

import atexit
import collections
import hashlib
import os
import secrets
import time
from urllib.parse import urlsplit

import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEVICE = os.environ["YKT_FUZZ_DEVICE"]
KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ["YKT_FUZZ_KEY"]))


def _sign(request):
    """Signs a prepared request over exactly the bytes it will send."""
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    path = urlsplit(request.url).path
    ts = str(int(time.time() * 1000))
    nonce = "fz-" + secrets.token_hex(12)
    message = "YKT-DEVICE-V1\n{}\n{}\n{}\n{}\n{}".format(
        request.method.upper(), path, ts, nonce, hashlib.sha256(body).hexdigest()
    )
    request.headers["X-Device"] = DEVICE
    request.headers["X-Timestamp"] = ts
    request.headers["X-Nonce"] = nonce
    request.headers["X-Signature"] = KEY.sign(message.encode()).hex()


# Schemathesis 3 has no hook that sees the request as sent, and the bytes it sends are not
# always what `json.dumps` of the case's body gives (invalid cases are encoded in other ways).
# So the signature is made at the last moment, on the prepared request, for the device paths.
_send = requests.Session.send


def _signed_send(self, request, **kwargs):
    path = urlsplit(request.url).path
    if path.startswith("/api/device/v1/") and not path.endswith("openapi.json"):
        _sign(request)
    return _send(self, request, **kwargs)


requests.Session.send = _signed_send


# Status codes per operation, printed when the run ends: a run whose answers are nearly all
# 401 tested nothing but the signature check, and the script fails it.
TALLY = collections.defaultdict(collections.Counter)
# With YKT_FUZZ_SHOW_400 set: the messages of 400 and 401 answers, to see which rule a case met.
MESSAGES = collections.defaultdict(collections.Counter)


@schemathesis.hook
def after_call(context, case, response):
    TALLY[case.formatted_path][response.status_code] += 1
    if response.status_code in (400, 401) and os.environ.get("YKT_FUZZ_SHOW_400"):
        MESSAGES[case.formatted_path][response.text[:160]] += 1


@atexit.register
def _report():
    with open(os.environ.get("YKT_FUZZ_TALLY", os.devnull), "a") as out:
        for path, codes in sorted(TALLY.items()):
            total = sum(codes.values())
            shown = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items()))
            out.write(f"{path} {total} answers ({shown}) unauthorized={codes[401] / total:.2f}\n")
        for path, messages in sorted(MESSAGES.items()):
            for message, n in messages.most_common(8):
                out.write(f"  {path} x{n}: {message}\n")
