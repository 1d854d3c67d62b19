"""Pages for everyone: the start page, the language switch and public licence verification.

Verification needs no sign-in and is rate-limited per client address. By number it shows only what a relying party
needs (type, issuer, status, validity) and, for a person's licence, nothing about the holder
(``services.licences.verification`` says why); the holder check (``app.public.holder_check``) answers "matches" or
"does not match" for a name and identity number. Nothing is cached, so a suspension or revocation shows on
the next look-up. A holder's share link (``/shared/<token>``) opens the same verification page while it is active.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from app import db_session
from app.i18n import DISPLAY_COOKIE, LANGUAGE_COOKIE, _
from app.public.forms import EXAMPLE_NUMBER, VerifyForm, licence_number_problem
from app.ratelimit import rate_limited
from app.security import safe_next
from services.catalogue.models import Agency
from services.identity.identifiers import InvalidIdentifier, validate_licence_number
from services.licences.credentials import effective_status, issuer_url, jwks, public_holder
from services.licences.models import Licence, LicenceStatus
from services.licences.qr import qr_png_data_uri
from services.licences.service import licence_by_number, superseding
from services.licences.sharing import open_share_link
from services.licences.verification import public_facts

bp = Blueprint("public", __name__)


@bp.route("/")
def home():
    return render_template("public/home.html")


def _back_with_cookie(name: str, value: str, allowed) -> object:
    """Redirect back to the page the reader came from (same site only), remembering their choice for a year."""
    response = redirect(safe_next(request.args.get("next")) or url_for("public.home"))
    if value in allowed:
        response.set_cookie(name, value, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.route("/language/<code>")
def set_language(code: str):
    return _back_with_cookie(LANGUAGE_COOKIE, code, current_app.config["LANGUAGES"])


@bp.route("/display/<mode>")
def set_display(mode: str):
    """Elderly-friendly large text and high contrast (适老化), kept in a cookie; no pop-ups, no scripts."""
    return _back_with_cookie(DISPLAY_COOKIE, mode, ("large", "standard"))


def _no_cache(response):
    # Caches must ask again every time: a licence revoked a minute ago must not show as valid from a cache.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _lookup(number: str) -> tuple[Licence | None, str, str | None]:
    """``(licence, number as shown, problem)``: problem is an InvalidIdentifier code for a malformed number."""
    try:
        number = validate_licence_number(number)
    except InvalidIdentifier as exc:
        return None, number[:60], exc.code
    return licence_by_number(db_session(), number), number, None


def _licence_or_404(number: str, *, as_json: bool = False):
    """``(licence, None)`` for a licence that exists, else ``(None, 404 response)`` as a page or as JSON, saying
    whether the number is malformed (and how) or was never issued."""
    licence, number, problem = _lookup(number)
    if licence is not None:
        return licence, None
    if as_json:
        message = (licence_number_problem(number, problem) if problem else
                   _("No licence with the number %(number)s was issued through OneWindow.", number=number))
        response = jsonify(error="invalid_number" if problem else "not_found", problem=problem, number=number,
                           message=message)
        response.status_code = 404
        response.headers["Access-Control-Allow-Origin"] = "*"
        return None, _no_cache(response)
    message = (licence_number_problem(number, problem) if problem else
               _("No licence with the number %(number)s was issued through OneWindow. Check the number and try "
                 "again.", number=number))
    return None, _no_cache(current_app.make_response((render_template(
        "public/verify.html", licence=None, number=number, message=message), 404)))


def _licence_context(licence: Licence, shared: bool = False) -> dict:
    session = db_session()
    is_enterprise = licence.holder_enterprise_id is not None
    # An enterprise's licence is public information (it hangs on the premises' wall); a person's holder and details
    # are shown only through a share link the holder made: looked up by number, nothing about the person at all.
    show_details = is_enterprise or shared
    holder_name, holder_identifier = public_holder(licence) if show_details else (None, None)
    if shared and not is_enterprise:
        holder_name = licence.holder_name  # the holder chose to show it; the identity number stays masked
    return {"licence": licence, "number": licence.number, "status": effective_status(licence),
            "holder_name": holder_name, "holder_identifier": holder_identifier, "is_enterprise": is_enterprise,
            "show_details": show_details, "holder_check": not is_enterprise and bool(licence.holder_identifier),
            "superseded_by": superseding(session, licence) if licence.status == LicenceStatus.SUPERSEDED else None,
            "supersedes": session.get(Licence, licence.supersedes_id) if licence.supersedes_id else None}


@bp.route("/verify")
@rate_limited("verify")
def verify_form():
    """Enter a licence number; a valid one leads to its verification page."""
    submitted = "number" in request.args
    form = VerifyForm(formdata=request.args if submitted else None, meta={"csrf": False})
    if submitted and form.validate():
        return redirect(url_for("public.verify", number=form.number.data))
    return (render_template("public/verify_form.html", form=form, example_number=EXAMPLE_NUMBER),
            400 if form.errors else 200)


@bp.route("/verify/<number>")
@rate_limited("verify")
def verify(number: str):
    """Public verification by number (the QR code points here): status and facts, holder partly masked."""
    licence, not_found = _licence_or_404(number)
    if not_found:
        return not_found
    return _no_cache(current_app.make_response(render_template("public/verify.html", **_licence_context(licence))))


@bp.route("/verify/<number>/licence")
@rate_limited("verify")
def licence_page(number: str):
    """The accessible HTML rendering of the licence: the facts of the PDF, as a web page."""
    licence, not_found = _licence_or_404(number)
    if not_found:
        return not_found
    verify_url = f"{current_app.config['PUBLIC_URL'].rstrip('/')}/verify/{licence.number}"
    return _no_cache(current_app.make_response(render_template(
        "public/licence.html", verify_url=verify_url, qr_data_uri=qr_png_data_uri(verify_url),
        **_licence_context(licence))))


@bp.route("/verify/<number>.json")
@rate_limited("verify", json=True)
def verify_json(number: str):
    """The facts of the verification page as JSON, with the licence's Verifiable Credential (a compact JWS)."""
    licence, not_found = _licence_or_404(number, as_json=True)
    if not_found:
        return not_found
    facts = public_facts(licence, current_app.config["PUBLIC_URL"])
    superseded_by = superseding(db_session(), licence) if licence.status == LicenceStatus.SUPERSEDED else None
    facts["superseded_by"] = superseded_by.number if superseded_by else None
    facts["supersedes"] = licence.supersedes.number if licence.supersedes_id else None
    response = jsonify(facts)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return _no_cache(response)


@bp.route("/shared/<token>")
@rate_limited("verify")
def shared(token: str):
    """A holder's share link: the licence's verification page while the link is active, its opening logged."""
    link = open_share_link(db_session(), token[:200], user_agent=request.headers.get("User-Agent", ""),
                           remote_addr=request.remote_addr)
    if link is None:
        response = current_app.make_response((render_template("public/shared_gone.html"), 404))
    else:
        response = current_app.make_response(render_template(
            "public/verify.html", shared_until=link.expires_at, **_licence_context(link.licence, shared=True)))
    # The token is the whole secret: never cached, never sent on as a Referer, never indexed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/.well-known/jwks.json")
def jwks_document():
    """The issuing agencies' public keys (current and rotated-out), to check licence credentials with."""
    codes = db_session().scalars(select(Agency.code)).all()
    response = jsonify(jwks(Path(current_app.config["KEY_DIR"]), codes))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/issuers/<code>")
def issuer(code: str):
    """The issuer named in the credentials: the agency's names and its public keys."""
    agency = db_session().scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        response = jsonify(error="not_found", message=_("No such issuing agency."))
        response.status_code = 404
        return response
    public_url = current_app.config["PUBLIC_URL"]
    response = jsonify({
        "id": issuer_url(public_url, agency.code),
        "name": [{"@value": agency.name_zh, "@language": "zh-Hans"},
                 {"@value": agency.name_zh_hant, "@language": "zh-Hant"},
                 {"@value": agency.name_en, "@language": "en"}],
        "jwks_uri": f"{public_url.rstrip('/')}/.well-known/jwks.json",
        **jwks(Path(current_app.config["KEY_DIR"]), [agency.code]),
    })
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

from app.public import audit  # noqa: E402,F401  (its routes join this blueprint)
