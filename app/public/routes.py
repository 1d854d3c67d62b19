"""Pages for everyone: the start page, the language switch and public licence verification."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from app import db_session
from app.i18n import DISPLAY_COOKIE, LANGUAGE_COOKIE
from services.identity.identifiers import InvalidIdentifier, mask_resident_id, validate_licence_number
from services.licences.service import licence_by_number

bp = Blueprint("public", __name__)


@bp.route("/")
def home():
    return render_template("public/home.html")


@bp.route("/language/<code>")
def set_language(code: str):
    target = request.args.get("next") or url_for("public.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("public.home")
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.route("/display/<mode>")
def set_display(mode: str):
    """Elderly-friendly large text and high contrast (适老化), kept in a cookie; no pop-ups, no scripts."""
    target = request.args.get("next") or url_for("public.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("public.home")
    response = redirect(target)
    if mode in ("large", "standard"):
        response.set_cookie(DISPLAY_COOKIE, mode, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.route("/verify/<number>")
def verify(number: str):
    """Public verification by number (the QR code points here): status and facts, holder partly masked."""
    try:
        number = validate_licence_number(number)
    except InvalidIdentifier:
        return render_template("public/verify.html", licence=None, number=number, invalid=True), 404
    licence = licence_by_number(db_session(), number)
    if licence is None:
        return render_template("public/verify.html", licence=None, number=number, invalid=False), 404
    holder = licence.holder_identifier
    masked = mask_resident_id(holder) if licence.holder_account_id else holder
    return render_template("public/verify.html", licence=licence, number=number, masked_identifier=masked)
