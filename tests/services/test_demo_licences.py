"""`flask seed-demo` leaves one issued licence for each demo holder, however often it runs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import select

from services.licences.credentials import jwks, verify_credential
from services.licences.demo import seed_demo_licences
from services.licences.models import Licence, LicenceStatus

HOLDERS = {"张三", "李四", "广州示例餐饮有限公司"}


def test_one_licence_per_demo_holder_even_when_run_twice(app, db, tmp_path):
    key_dir, public_url = Path(app.config["KEY_DIR"]), app.config["PUBLIC_URL"]
    first = seed_demo_licences(db, key_dir, public_url, upload_dir=tmp_path)
    second = seed_demo_licences(db, key_dir, public_url, upload_dir=tmp_path)
    assert [lic.id for lic in first] == [lic.id for lic in second]
    licences = db.scalars(select(Licence)).all()
    assert Counter(lic.holder_name for lic in licences) == dict.fromkeys(HOLDERS, 1)
    assert all(lic.status == LicenceStatus.VALID and lic.credential_jws for lic in licences)
    by_holder = {lic.holder_name: lic for lic in licences}
    assert by_holder["广州示例餐饮有限公司"].licence_type.code == "food_business_permit"
    assert by_holder["张三"].licence_type.code == "residence_permit"
    assert by_holder["张三"].agency.code == "police"
    assert by_holder["张三"].application.materials == []
    assert [m.filename for m in by_holder["广州示例餐饮有限公司"].application.materials] == ["lease.pdf"]
    # An enterprise's name and credit code are public; a resident's are masked in the public credential.
    key_set = jwks(key_dir, None)
    subject = verify_credential(by_holder["广州示例餐饮有限公司"].credential_jws, key_set)["credentialSubject"]
    assert subject["name"] == "广州示例餐饮有限公司" and subject["identifier"] == "91440106MA5CN8QX19"
    subject = verify_credential(by_holder["李四"].credential_jws, key_set)["credentialSubject"]
    assert subject["name"] == "李*" and subject["identifier"] == "440***********4560"
