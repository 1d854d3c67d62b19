"""The public service catalogue."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from wtforms import StringField

from app import db_session
from app.forms import BaseForm, max_length
from app.i18n import _l
from services.catalogue.models import Bundle, Matter
from services.catalogue.search import search

bp = Blueprint("catalogue", __name__, url_prefix="/services")
ONLINE_FORMS = {"open_restaurant"}  # bundles with an online application form (app/portal)


class SearchForm(BaseForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(_l("Search by name, pinyin or its initials"), validators=[max_length(100)])


@bp.route("/")
def index():
    session = db_session()
    form = SearchForm(request.args)
    valid = form.validate()
    query = (form.q.data or "").strip() if valid else ""
    if query:
        bundles, matters = search(session, query)
    else:
        bundles = session.scalars(select(Bundle).order_by(Bundle.id)).all()
        matters = session.scalars(select(Matter).order_by(Matter.agency_id, Matter.id)).all()
    return render_template("catalogue/index.html", bundles=bundles, matters=matters, form=form,
                           query=query), (200 if valid else 400)


@bp.route("/<code>")
def bundle(code: str):
    found = db_session().scalar(select(Bundle).where(Bundle.code == code))
    if found is None:
        abort(404)
    return render_template("catalogue/bundle.html", bundle=found, online_forms=ONLINE_FORMS)
