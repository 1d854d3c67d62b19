"""The public service catalogue."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from app import db_session
from services.catalogue.models import Bundle, Matter

bp = Blueprint("catalogue", __name__, url_prefix="/services")


@bp.route("/")
def index():
    session = db_session()
    bundles = session.scalars(select(Bundle).order_by(Bundle.id)).all()
    matters = session.scalars(select(Matter).order_by(Matter.agency_id, Matter.id)).all()
    return render_template("catalogue/index.html", bundles=bundles, matters=matters)


@bp.route("/<code>")
def bundle(code: str):
    found = db_session().scalar(select(Bundle).where(Bundle.code == code))
    if found is None:
        abort(404)
    return render_template("catalogue/bundle.html", bundle=found)
