"""Deterministic vectors for what gridkey adds on top of EDHOC (docs/protocol.md §8).

Computed with Python `cryptography` and a hand-written CBOR encoding of the few items
involved, independently of gridkey's TypeScript. Run:
    python3 test/vectors/gridkey/make_session_vectors.py > test/vectors/gridkey/session_vectors.json
Inputs: RFC 9529 trace 2's PRK_exporter and C_R (h'27'), so the session keys follow a
published EDHOC run; fixed keys for the key delivery and the meter credential.
"""
import json
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.keywrap import aes_key_wrap


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 0x100:
        return bytes([major << 5 | 24, n])
    if n < 0x10000:
        return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
    return bytes([major << 5 | 26]) + n.to_bytes(4, "big")


def uint(n): return head(0, n)
def nint(n): return head(1, -1 - n)
def bstr(b): return head(2, len(b)) + b
def tstr(s): return head(3, len(s.encode())) + s.encode()
def array(*items): return head(4, len(items)) + b"".join(items)
def cmap(*pairs): return head(5, len(pairs)) + b"".join(k + v for k, v in pairs)


PRK_EXPORTER = bytes.fromhex("e14d06699cee248c5a04bf9227bbcd4ce394de7dcb56db43555474171e6446db")
C_R = bytes.fromhex("27")  # one byte that is itself a CBOR int (-8): sent as the int


def exporter(label, length):
    info = uint(label) + bstr(b"") + uint(length)  # EDHOC_KDF info: (label, context, length)
    return HKDFExpand(hashes.SHA256(), length, info).derive(PRK_EXPORTER)


keys = {"keyI2R": exporter(32768, 16), "keyR2I": exporter(32769, 16), "ivI2R": exporter(32770, 12), "ivR2I": exporter(32771, 12)}


def nonce(iv, counter):
    return bytes(a ^ b for a, b in zip(iv, counter.to_bytes(12, "big")))


def request(counter, op, args):
    aad = array(tstr("gridkey/req"), bstr(C_R), uint(counter))
    ct = AESGCM(keys["keyI2R"]).encrypt(nonce(keys["ivI2R"], counter), array(tstr(op), args), aad)
    return C_R + uint(counter) + bstr(ct)  # C_R h'27' travels as its one-byte int encoding


def response(counter, body):
    aad = array(tstr("gridkey/res"), bstr(C_R), uint(counter))
    ct = AESGCM(keys["keyR2I"]).encrypt(nonce(keys["ivR2I"], counter), body, aad)
    return uint(counter) + bstr(ct)


KEK = bytes(range(0x10, 0x20))
GUEK = bytes(range(0x20, 0x30))
GBEK = bytes(range(0x30, 0x40))
AK = bytes(range(0x40, 0x50))


def key_data(entries):
    out = bytes([0x01, len(entries)])
    for key_id, key in entries:
        wrapped = aes_key_wrap(KEK, key)
        out += bytes([0x02, 0x02, 0x16, key_id, 0x09, len(wrapped)]) + wrapped
    return out


# The meter credential of docs/protocol.md §2, for a fixed identity key (RFC 9529 trace 2's initiator key).
X = bytes.fromhex("ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb6")
Y = bytes.fromhex("6e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8")
SYSTEM_TITLE = bytes.fromhex("4752494400000001")
ccs = cmap((uint(2), tstr("MTR-000001")), (uint(8), cmap((uint(1), cmap((uint(1), uint(2)), (uint(2), bstr(SYSTEM_TITLE)), (nint(-1), uint(1)), (nint(-2), bstr(X)), (nint(-3), bstr(Y)))))))

vectors = {
    "source": "make_session_vectors.py with Python cryptography",
    "prkExporter": PRK_EXPORTER.hex(),
    "connectionId": C_R.hex(),
    "sessionKeys": {k: v.hex() for k, v in keys.items()},
    "requests": [
        {"counter": 1, "op": "ping", "argsCbor": cmap().hex(), "record": request(1, "ping", cmap()).hex()},
        {"counter": 2, "op": "keys", "argsCbor": cmap().hex(), "record": request(2, "keys", cmap()).hex()},
        {"counter": 300, "op": "ack", "argsCbor": cmap((tstr("keys"), array(array(tstr("key_0123"), uint(2))))).hex(),
         "record": request(300, "ack", cmap((tstr("keys"), array(array(tstr("key_0123"), uint(2)))))).hex()},
    ],
    "responses": [
        {"counter": 1, "bodyCbor": array(uint(0), cmap()).hex(), "record": response(1, array(uint(0), cmap())).hex()},
        {"counter": 2, "bodyCbor": array(uint(1), tstr("meter_revoked"), tstr("the meter is revoked")).hex(),
         "record": response(2, array(uint(1), tstr("meter_revoked"), tstr("the meter is revoked"))).hex()},
    ],
    "keyDelivery": {
        "kek": KEK.hex(), "guek": GUEK.hex(), "ak": AK.hex(), "gbek": GBEK.hex(),
        "keyData": key_data([(0, GUEK), (2, AK), (1, GBEK)]).hex(),
    },
    "meterCredential": {"meterId": "MTR-000001", "systemTitle": SYSTEM_TITLE.hex(), "x": X.hex(), "y": Y.hex(), "ccs": ccs.hex()},
}
print(json.dumps(vectors, indent=1))
