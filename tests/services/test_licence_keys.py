"""Key rotation: new licences are signed with the new key, and licences signed with the old one stay verifiable
(their PDF signature against the archived certificate, their credential against the JWKS)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.licences.credentials import CredentialError, jwks, key_id_of, verify_credential
from services.licences.signing import (
    agency_certificates,
    ensure_agency_key,
    rotate_agency_key,
    validate_licence_signature,
    validate_signature,
)
from tests.services.test_credentials import issue_demo_licence


@pytest.fixture
def own_key_dir(app, tmp_path, monkeypatch):
    """A key directory of this test's own, so rotating does not change the keys other tests sign with."""
    key_dir = tmp_path / "keys"
    shutil.copytree(app.config["KEY_DIR"], key_dir) if Path(app.config["KEY_DIR"]).is_dir() else key_dir.mkdir()
    monkeypatch.setitem(app.config, "KEY_DIR", str(key_dir))
    return key_dir


def test_rotation_keeps_old_licences_verifiable(app, db, own_key_dir):
    old = issue_demo_licence(app, db, "resident")
    old_kid = old.key_id
    _key, current_cert = ensure_agency_key(own_key_dir, "police", "Public Security Bureau")
    assert key_id_of(current_cert) == old_kid

    _key, cert, archived = rotate_agency_key(own_key_dir, "police", "Public Security Bureau")
    new_kid = key_id_of(cert)
    assert new_kid != old_kid and archived is not None and key_id_of(archived) == old_kid
    assert agency_certificates(own_key_dir, "police") == [cert, archived]

    new = issue_demo_licence(app, db, "resident2")
    assert new.key_id == new_kid

    published = jwks(own_key_dir, ["police"])
    assert {k["kid"] for k in published["keys"]} == {old_kid, new_kid}
    assert verify_credential(old.credential_jws, published)["credentialSubject"]["licenceNumber"] == old.number
    assert verify_credential(new.credential_jws, published)["credentialSubject"]["licenceNumber"] == new.number

    for licence in (old, new):
        result = validate_licence_signature(licence.pdf, own_key_dir, "police", licence.key_id)
        assert result["valid"] and result["trusted"] and result["intact"], result
        # Without the kid every certificate is tried, and the right one is found.
        assert validate_licence_signature(licence.pdf, own_key_dir, "police")["valid"]
    assert not validate_signature(old.pdf, cert)["trusted"]  # the new certificate alone does not vouch for it

    # Without the archived certificate the old credential no longer verifies: the archive is what keeps it alive.
    archived.unlink()
    with pytest.raises(CredentialError):
        verify_credential(old.credential_jws, jwks(own_key_dir, ["police"]))


def test_rotate_key_command(app, db, own_key_dir):
    ensure_agency_key(own_key_dir, "fire", "Fire and Rescue Detachment")
    before = key_id_of(own_key_dir / "fire.cert.pem")
    result = app.test_cli_runner().invoke(args=["licence", "rotate-key", "fire"])
    assert result.exit_code == 0, result.output
    after = key_id_of(own_key_dir / "fire.cert.pem")
    assert after != before and after in result.output and "previous certificate kept" in result.output
    assert {before, after} <= {k["kid"] for k in jwks(own_key_dir, ["fire"])["keys"]}
    refused = app.test_cli_runner().invoke(args=["licence", "rotate-key", "nobody"])
    assert refused.exit_code != 0 and "no agency" in refused.output
