"""`flask seed-demo` creates the demo of DOMAIN.md and is idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from services.catalogue.demo import seed_demo
from services.catalogue.models import Agency, Bundle
from services.identity.models import Account, Enterprise, Role
from services.identity.service import authenticate
from services.models import Base


def row_counts(db) -> dict[str, int]:
    return {table.name: db.scalar(select(func.count()).select_from(table)) for table in Base.metadata.sorted_tables}


def test_seeding_again_changes_nothing(db):
    before = row_counts(db)
    seed_demo(db)
    db.flush()
    assert row_counts(db) == before


def test_demo_accounts_and_the_restaurant_bundle(db):
    owner = authenticate(db, "owner@demo.onewindow.test", "OneWindow-demo-2026")
    assert owner.name == "王五" and owner.id_number == "440111200101010025"
    enterprise = db.scalar(select(Enterprise).where(Enterprise.legal_representative_id == owner.id))
    assert enterprise.uscc == "91440106MA5CN8QX19" and enterprise.name == "广州示例餐饮有限公司"
    clerks = db.scalars(select(Account).where(Account.role == Role.CLERK)).all()
    assert {c.agency.code for c in clerks} == {"hub", "market", "fire", "urban", "env", "police", "health", "medical",
                                                   "hrss", "tax", "housingfund"}
    restaurant = db.scalar(select(Bundle).where(Bundle.code == "open_restaurant"))
    assert len({item.matter.agency_id for item in restaurant.items}) >= 4
    assert db.scalar(select(func.count()).select_from(Agency)) == 11
    for local in ("supervisor", "admin", "resident", "resident2"):
        assert authenticate(db, f"{local}@demo.onewindow.test", "OneWindow-demo-2026") is not None


def test_resident_identity_number_is_shown_masked(client, sign_in_as):
    sign_in_as("resident")
    html = client.get("/me/").get_data(as_text=True)
    assert "440***********1235" in html and "440106198803151235" not in html
