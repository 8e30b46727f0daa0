"""Known-answer vectors for DLMS/COSEM general-glo-ciphering (IEC 62056-5-3 §5.6 / Green Book).

Computed with Python `cryptography` (OpenSSL), independently of gridkey's TypeScript code,
so that the tests compare our frames with someone else's AES-GCM. Run:
    python3 test/vectors/dlms/make_glo_ciphering.py > test/vectors/dlms/glo_ciphering.json
Inputs are the Green Book's example keys and system title, plus an AES-256 (suite 2) case.
"""
import json
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TAG = 12


def axdr_length(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82]) + n.to_bytes(2, "big")


def frame(system_title, content):
    return bytes([0xDB, 0x08]) + system_title + axdr_length(len(content)) + content


def protect(sc, system_title, ic, ek, ak, plaintext):
    iv = system_title + ic.to_bytes(4, "big")
    header = bytes([sc]) + ic.to_bytes(4, "big")
    mode = sc & 0x30
    if mode == 0x30:  # authenticated and encrypted: AAD = SC || AK
        sealed = AESGCM(ek).encrypt(iv, plaintext, bytes([sc]) + ak)
        # cryptography's AESGCM always makes a 16-byte tag; DLMS keeps the first 12 (truncation is GCM's own).
        body = sealed[:-16] + sealed[-16:][:TAG]
    elif mode == 0x10:  # authenticated only: AAD = SC || AK || plaintext, plaintext sent as is
        tag = AESGCM(ek).encrypt(iv, b"", bytes([sc]) + ak + plaintext)[:TAG]
        body = plaintext + tag
    elif mode == 0x20:  # encrypted only: GCM's CTR part, no tag
        counter0 = iv + (2).to_bytes(4, "big")
        enc = Cipher(algorithms.AES(ek), modes.CTR(counter0)).encryptor()
        body = enc.update(plaintext) + enc.finalize()
    else:
        raise ValueError("unprotected")
    return frame(system_title, header + body)


GB_ST = bytes.fromhex("4D4D4D0000BC614E")
GB_EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
GB_AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
GB_IC = 0x01234567
GET_REQUEST = bytes.fromhex("C0010000080000010000FF0200")
READING = bytes.fromhex("0F0000000109060100010800FF0600012D8E" + "00" * 120)

cases = []
for sc, name in [(0x30, "authenticated and encrypted"), (0x10, "authenticated only"), (0x20, "encrypted only")]:
    for pt, what in [(GET_REQUEST, "get-request"), (READING, "140-byte reading")]:
        cases.append({"comment": f"suite 0, {name}, {what}", "securityControl": sc, "systemTitle": GB_ST.hex(),
                      "invocationCounter": GB_IC, "ek": GB_EK.hex(), "ak": GB_AK.hex(), "plaintext": pt.hex(),
                      "apdu": protect(sc, GB_ST, GB_IC, GB_EK, GB_AK, pt).hex()})

EK256 = bytes(range(0x20, 0x40))
AK256 = bytes(range(0x40, 0x60))
ST2 = bytes.fromhex("4752494400000002")
for sc in (0x32, 0x12, 0x22):
    cases.append({"comment": f"suite 2 (AES-256), security control {sc:#04x}", "securityControl": sc, "systemTitle": ST2.hex(),
                  "invocationCounter": 0xFFFFFFFE, "ek": EK256.hex(), "ak": AK256.hex(), "plaintext": READING.hex(),
                  "apdu": protect(sc, ST2, 0xFFFFFFFE, EK256, AK256, READING).hex()})

print(json.dumps({"source": "make_glo_ciphering.py with Python cryptography", "tagLength": TAG, "cases": cases}, indent=1))
