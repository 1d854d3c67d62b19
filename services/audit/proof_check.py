#!/usr/bin/env python3
"""Check a OneWindow audit proof: python3 proof_check.py my-audit-proof.json [hub-certificate.pem]

Standalone on purpose (it needs only the ``cryptography`` package): a resident downloads it from /audit/roots and runs
it without trusting the hub's servers. For every entry in the proof it recomputes the row's hash from its contents,
folds the Merkle path up to the day's root, and checks the hub's signature on that root. The hub also uses these
functions itself (services.audit.chain), so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys

GENESIS = "0" * 64


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(prev_hash: str, fields: dict) -> str:
    """A row's hash: SHA-256 over the previous row's hash and the row's own fields, as canonical JSON."""
    return hashlib.sha256(canonical([prev_hash, fields])).hexdigest()


def _leaf(row_hash_hex: str) -> bytes:
    # Leaves and inner nodes are hashed with different prefixes (as in RFC 6962), so a node cannot pass for a leaf.
    return hashlib.sha256(b"\x00" + bytes.fromhex(row_hash_hex)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_levels(row_hashes: list[str]) -> list[list[bytes]]:
    """Every level of the tree over a day's row hashes, leaves first; a last odd node moves up unchanged."""
    level = [_leaf(h) for h in row_hashes]
    levels = [level]
    while len(level) > 1:
        level = [_node(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def merkle_root(row_hashes: list[str]) -> str:
    return merkle_levels(row_hashes)[-1][0].hex() if row_hashes else GENESIS


def merkle_path(levels: list[list[bytes]], index: int) -> list[list[str]]:
    """The sibling hashes from leaf ``index`` up to the root, each as ["L" or "R", hex]."""
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(["L" if sibling < index else "R", level[sibling].hex()])
        index //= 2
    return path


def fold_path(row_hash_hex: str, path: list[list[str]]) -> str:
    node = _leaf(row_hash_hex)
    for side, sibling in path:
        node = _node(bytes.fromhex(sibling), node) if side == "L" else _node(node, bytes.fromhex(sibling))
    return node.hex()


def root_message(root: dict) -> bytes:
    """What the hub signs for a day."""
    return canonical({key: root[key] for key in ("day", "first_seq", "last_seq", "count", "merkle_root",
                                                 "head_hash")})


def check_signature(root: dict, certificate_pem: bytes) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    public_key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    try:
        public_key.verify(base64.b64decode(root["signature"]), root_message(root), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def check_proof(proof: dict, certificate_pem: bytes | None = None) -> list[str]:
    """Problems found in ``proof`` (empty: every entry is in a day the hub signed, unchanged)."""
    problems = []
    pem = certificate_pem or proof["certificate"].encode()
    roots = {root["day"]: root for root in proof["roots"]}
    for day, root in roots.items():
        if not check_signature(root, pem):
            problems.append(f"the signature on the root of {day} is not the hub's")
    for entry in proof["entries"]:
        seq = entry["fields"]["seq"]
        if row_hash(entry["prev_hash"], entry["fields"]) != entry["row_hash"]:
            problems.append(f"entry #{seq}: its contents do not give its hash")
            continue
        root = roots.get(entry["fields"]["day"])
        if root is None:
            problems.append(f"entry #{seq}: its day has no signed root yet")
        elif fold_path(entry["row_hash"], entry["path"]) != root["merkle_root"]:
            problems.append(f"entry #{seq}: not part of the signed root of {root['day']}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[0])
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        proof = json.load(handle)
    pem = open(argv[2], "rb").read() if len(argv) == 3 else None
    problems = check_proof(proof, pem)
    for problem in problems:
        print("FAIL:", problem)
    pending = len(proof.get("pending", []))
    if not problems:
        print(f"OK: {len(proof['entries'])} entries match the hub's signed daily roots"
              + (f"; {pending} from today wait for tonight's root" if pending else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
