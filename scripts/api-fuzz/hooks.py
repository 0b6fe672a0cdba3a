"""Schemathesis hooks for the signed device API (scripts/api-fuzz.sh).

Every generated request is sent as a real device sends it: the JSON body serialised once, and
X-Device, X-Timestamp, X-Nonce and X-Signature set over exactly those bytes with the device's
Ed25519 key (YKT_FUZZ_DEVICE, YKT_FUZZ_KEY). Without this, every case would stop at 401 and the
fuzzer would test nothing but the signature check.
"""

import atexit
import collections
import hashlib
import json
import os
import secrets
import time

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEVICE = os.environ["YKT_FUZZ_DEVICE"]
KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ["YKT_FUZZ_KEY"]))


def _body_bytes(case):
    """The bytes the request will carry: Schemathesis hands a JSON body to `requests` as
    `json=`, which serialises it with `json.dumps(body, allow_nan=False)` in UTF-8."""
    body = getattr(case, "body", None)
    if body is None or type(body).__name__ == "NotSet":
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    return json.dumps(body, allow_nan=False).encode("utf-8")


@schemathesis.hook
def before_call(context, case):
    body = _body_bytes(case)
    # The document's paths are the full paths the server sees.
    path = case.formatted_path
    ts = str(int(time.time() * 1000))
    nonce = "fz-" + secrets.token_hex(12)
    message = "YKT-DEVICE-V1\n{}\n{}\n{}\n{}\n{}".format(
        case.method.upper(), path, ts, nonce, hashlib.sha256(body).hexdigest()
    )
    headers = dict(case.headers or {})
    headers.update(
        {
            "X-Device": DEVICE,
            "X-Timestamp": ts,
            "X-Nonce": nonce,
            "X-Signature": KEY.sign(message.encode()).hex(),
        }
    )
    case.headers = headers


# Status codes per operation, printed when the run ends: a run whose answers are nearly all
# 401 tested nothing but the signature check, and the script fails it.
TALLY = collections.defaultdict(collections.Counter)
# With YKT_FUZZ_SHOW_400 set: the refusals' messages, to see which rule a valid-looking case met.
MESSAGES = collections.defaultdict(collections.Counter)


@schemathesis.hook
def after_call(context, case, response):
    TALLY[case.formatted_path][response.status_code] += 1
    if response.status_code == 400 and os.environ.get("YKT_FUZZ_SHOW_400"):
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
                out.write(f"  400 {path} x{n}: {message}\n")
