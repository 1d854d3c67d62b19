"""PAdES signatures on licence PDFs with pyHanko, and development signing keys per issuing agency.

Each agency signs its own licences. In development the key is an unencrypted PEM file next to a self-signed
certificate; a production deployment would hand pyHanko a signer backed by an HSM or a CA-issued certificate, and
only :func:`ensure_agency_key` would change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import io
import logging
import os
import re
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext

FIELD_NAME = "Signature1"
CERT_ORGANISATION = "OneWindow development CA"
CERT_VALIDITY = dt.timedelta(days=5 * 365 + 1)
_AGENCY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

_log = logging.getLogger(__name__)


def _key_paths(key_dir: Path, agency_code: str) -> tuple[Path, Path]:
    # The code becomes a file name: anything but a plain token could escape key_dir.
    if not _AGENCY_CODE.match(agency_code):
        raise ValueError(f"agency code {agency_code!r} is not a safe file name (letters, digits, '_' and '-')")
    return key_dir / f"{agency_code}.key.pem", key_dir / f"{agency_code}.cert.pem"


def ensure_agency_key(key_dir: Path, agency_code: str, agency_name: str) -> tuple[Path, Path]:
    """Return ``(key_path, cert_path)`` for the agency, generating them on first use.

    Generates an EC P-256 key (``<agency_code>.key.pem``, mode 0600) and a self-signed certificate
    (``<agency_code>.cert.pem``; CN = ``agency_name``, O = "OneWindow development CA", valid five years, key usage
    digitalSignature and nonRepudiation). Existing files are kept. Processes racing on first use are serialised by
    an exclusive lock on ``<agency_code>.lock``, and each file appears atomically (temp file, then ``os.replace``),
    so a reader never sees a half-written file or a key paired with another process's certificate.
    """
    key_dir = Path(key_dir)
    key_path, cert_path = _key_paths(key_dir, agency_code)
    if key_path.is_file() and cert_path.is_file():
        return key_path, cert_path
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _exclusive_lock(key_dir / f"{agency_code}.lock"):
        if key_path.is_file() and cert_path.is_file():  # another process finished while we waited
            return key_path, cert_path
        if key_path.exists() or cert_path.exists():
            # Left by a crash between the two replaces below: a key without its certificate is useless.
            _log.warning("incomplete signing key pair for %s in %s, generating a new one", agency_code, key_dir)
        key, cert = _generate(agency_name)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _atomic_write(key_path, key_pem, 0o600)
        # Certificate last: its presence is what marks the pair complete.
        _atomic_write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        _log.info("generated development signing key for %s (%s)", agency_code, agency_name)
    return key_path, cert_path


def rotate_agency_key(key_dir: Path, agency_code: str, agency_name: str,
                      now: dt.datetime | None = None) -> tuple[Path, Path, Path | None]:
    """Give the agency a new signing key and certificate; return ``(key_path, cert_path, archived_cert_path)``.

    The current certificate is kept as ``<agency_code>.<UTC timestamp>.cert.pem`` (it is what validates the PDFs
    and credentials it signed: the JWKS publishes every certificate in ``key_dir``), and the retired private key
    is overwritten by the new one: nothing can sign with it any more. New licences are signed with the new key from
    the next issuance on. Runs under the same lock as first-use generation.
    """
    key_dir = Path(key_dir)
    key_path, cert_path = _key_paths(key_dir, agency_code)
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    archived = None
    with _exclusive_lock(key_dir / f"{agency_code}.lock"):
        if cert_path.is_file():
            archived = key_dir / f"{agency_code}.{stamp}.cert.pem"
            _atomic_write(archived, cert_path.read_bytes(), 0o644)
        key, cert = _generate(agency_name)
        _atomic_write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()), 0o600)
        _atomic_write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _log.info("rotated the signing key of %s; the old certificate is kept as %s", agency_code, archived)
    return key_path, cert_path, archived


def agency_certificates(key_dir: Path, agency_code: str) -> list[Path]:
    """The agency's certificates: the current one first, then the archived ones, newest first."""
    key_dir = Path(key_dir)
    _key_path, current = _key_paths(key_dir, agency_code)
    archived = sorted(key_dir.glob(f"{agency_code}.*.cert.pem"), reverse=True) if key_dir.is_dir() else []
    return ([current] if current.is_file() else []) + [path for path in archived if path != current]


def validate_licence_signature(pdf: bytes, key_dir: Path, agency_code: str, key_id: str | None = None) -> dict:
    """Validate a licence PDF against its agency's certificates, current or archived (see :func:`validate_signature`
    for the result). ``key_id`` (the licence's ``key_id``) picks the certificate at once; without it each is tried."""
    from services.licences.credentials import key_id_of

    candidates = agency_certificates(key_dir, agency_code)
    if key_id:
        chosen = [path for path in candidates if key_id_of(path) == key_id]
        candidates = chosen or candidates
    result = {"intact": False, "valid": False, "trusted": False, "signer": "", "covers_whole_file": False,
              "error": f"no certificate of {agency_code} in {key_dir}"}
    for cert_path in candidates:
        result = validate_signature(pdf, cert_path)
        if result["valid"] and result["trusted"]:
            return {**result, "certificate": cert_path.name}
    return result


@contextlib.contextmanager
def _exclusive_lock(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock; the lock file stays, deleting it would race


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _generate(agency_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, agency_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, CERT_ORGANISATION),
        ]
    )
    # Backdated a little so a signature made right away validates on a machine whose clock is slightly behind.
    now = dt.datetime.now(dt.UTC)
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # "nonRepudiation" in RFC 5280
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@functools.lru_cache(maxsize=64)
def _load_signer(key_path: str, cert_path: str, key_mtime: int, cert_mtime: int) -> signers.SimpleSigner:
    # The modification times are part of the cache key so that a replaced key pair is picked up without a restart.
    signer = signers.SimpleSigner.load(key_path, cert_path)
    if signer is None:
        raise ValueError(f"cannot load a signing key from {key_path} and certificate {cert_path}")
    # Read between the two file replacements of a key rotation, the pair would not match and every signature
    # would fail validation: refuse, and let the job's retry pick up the finished pair.
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    if key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise ValueError(f"the signing key {key_path} does not match the certificate {cert_path}")
    return signer


def _signer_for(key_path: Path, cert_path: Path) -> signers.SimpleSigner:
    key_path, cert_path = Path(key_path).resolve(), Path(cert_path).resolve()
    return _load_signer(str(key_path), str(cert_path), key_path.stat().st_mtime_ns, cert_path.stat().st_mtime_ns)


def sign_pdf(pdf: bytes, key_path: Path, cert_path: Path, *, reason: str, location: str = "Guangzhou") -> bytes:
    """Return ``pdf`` with an invisible PAdES B-B signature (SHA-256) in the field ``Signature1``.

    The signature is an incremental update, so the tagged structure, language and XMP of the original stay as they
    are. The signature widget is flagged hidden and placed outside the page: PDF/UA-1 requires every visible
    annotation to be tagged, and pyHanko's default invisible widget is untagged but not hidden.
    """
    signer = _signer_for(key_path, cert_path)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    field_spec = fields.SigFieldSpec(
        sig_field_name=FIELD_NAME,
        invis_sig_settings=fields.InvisSigSettings(set_print_flag=False, set_hidden_flag=True, box_out_of_bounds=True),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    output = signers.sign_pdf(writer, meta, signer=signer, new_field_spec=field_spec)
    return output.getvalue()


def validate_signature(pdf: bytes, cert_path: Path) -> dict:
    """Validate the licence signature against the agency certificate at ``cert_path`` (the only trust anchor).

    Returns ``{"intact", "valid", "trusted", "signer", "covers_whole_file"}``. ``intact``: the signed bytes are
    unchanged. ``valid``: the signature is cryptographically sound *and* nothing but harmless updates was appended
    after signing (a revision that changes page content makes it false). ``trusted``: the signing certificate
    chains to ``cert_path``. ``signer``: the certificate's common name. ``covers_whole_file``: no bytes at all
    follow the signed revision. An unsigned or unreadable PDF gives all flags false and an ``error`` message.
    """
    result = {"intact": False, "valid": False, "trusted": False, "signer": "", "covers_whole_file": False}
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except Exception as exc:  # any parse failure means "not a valid signed licence", not a server error
        return {**result, "error": f"unreadable PDF: {exc}"}
    if not embedded:
        return {**result, "error": "the PDF carries no signature"}
    signature = next((sig for sig in embedded if sig.field_name == FIELD_NAME), embedded[-1])
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_path))], allow_fetching=False)
    try:
        status = validate_pdf_signature(signature, signer_validation_context=context)
    except (SignatureValidationError, ValueError) as exc:
        return {**result, "error": f"signature cannot be validated: {exc}"}
    harmless = status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION and status.modification_level in (
        ModificationLevel.NONE,
        ModificationLevel.LTA_UPDATES,
    )
    subject = status.signing_cert.subject.native if status.signing_cert is not None else {}
    return {
        "intact": bool(status.intact),
        "valid": bool(status.valid and status.intact and harmless),
        "trusted": bool(status.trusted),
        "signer": str(subject.get("common_name", "")),
        "covers_whole_file": status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
    }
