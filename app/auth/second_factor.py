"""The second step of signing in (a code from an authenticator app, or a recovery code), and enrolment
(the administrator's staff pages are in app/auth/staff.py). The rules live in services/identity/second_factor.py.

Between the password and the code the session holds only the account's id and when the password was right; the
person is not signed in until the code is.
"""

from __future__ import annotations

import time

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from wtforms import StringField
from wtforms.validators import Regexp

from app import db_session
from app.auth.routes import bp
from app.forms import BaseForm, max_length, required
from app.i18n import _, _l
from app.security import current_account, home_for, safe_next, sign_in
from app.verbs import attempt
from services.errors import PermissionDenied, ValidationFailed
from services.identity import second_factor
from services.identity.models import Account
from services.identity.service import signed_in
from services.licences.qr import qr_png_data_uri

PENDING_SECONDS = 300  # the password step is good for five minutes


class CodeForm(BaseForm):
    code = StringField(_l("Code"), filters=[lambda value: value.strip() if value else value], validators=[
        required(_l("Enter the code from your authenticator app, or a recovery code.")), max_length(20)])


class EnrolForm(BaseForm):
    code = StringField(_l("Code from the app"), filters=[lambda value: value.strip() if value else value],
                       validators=[required(_l("Enter the 6-digit code your authenticator app shows.")),
                                   Regexp(r"^\d{6}$", message=_l("The code is 6 digits, like 123456.")),
                                   max_length(20)])


def begin_sign_in(account: Account):
    """After a right password: sign in, or go to the second step when this account needs one."""
    target = safe_next(request.args.get("next"))
    if not second_factor.asks_for_code(account, current_app.config):
        return complete_sign_in(account, target, with_code=False)
    session.clear()
    session["pending_account_id"] = account.id
    session["pending_since"] = time.time()
    session["pending_next"] = target
    return redirect(url_for("auth.second_factor" if account.totp_secret else "auth.enrol_second_factor"))


def complete_sign_in(account: Account, target: str | None, *, with_code: bool):
    signed_in(db_session(), account, second_factor=with_code)
    sign_in(account)
    return redirect(target or home_for(account))


def _pending_account() -> Account | None:
    account_id, since = session.get("pending_account_id"), session.get("pending_since", 0)
    if account_id is None or time.time() - since > PENDING_SECONDS:
        return None
    account = db_session().get(Account, account_id)
    return account if account is not None and account.is_active else None


@bp.route("/second-factor", methods=["GET", "POST"], endpoint="second_factor")
def second_factor_page():
    account = _pending_account()
    if account is None:
        flash(_("Sign in again: the time for the code has run out."), "info")
        return redirect(url_for("auth.sign_in"))
    if account.totp_secret is None:
        return redirect(url_for("auth.enrol_second_factor"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            with attempt(db_session()):
                right = second_factor.check(db_session(), account, form.code.data)
        except PermissionDenied:
            session.clear()
            flash(_("Too many wrong codes. Wait 15 minutes, then sign in again."), "error")
            return redirect(url_for("auth.sign_in"))
        if right:
            return complete_sign_in(account, session.get("pending_next"), with_code=True)
        form.code.errors.append(_("The code is not correct or has already been used. Try the newest code."))
        g.commit_on_error = True  # keep the failed attempt's audit row
    return render_template("auth/second_factor.html", form=form), (400 if form.errors else 200)


def _enrol_page(account: Account, form: EnrolForm, status: int = 200):
    secret = session.get("enrol_secret")
    if not secret:
        secret = session["enrol_secret"] = second_factor.new_secret()
    uri = second_factor.provisioning_uri(account, secret)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/enrol.html", form=form, qr=qr_png_data_uri(uri), secret=grouped,
                           required=second_factor.required_for(account, current_app.config)), status


@bp.route("/second-factor/enrol", methods=["GET", "POST"], endpoint="enrol_second_factor")
def enrol_second_factor():
    """Enrolment: during sign-in (staff who must have a second factor), or from the account page when signed in."""
    signed = current_account()
    account = signed or _pending_account()
    if account is None:
        return redirect(url_for("auth.sign_in"))
    if account.totp_secret is not None:
        flash(_("You already use a second factor."), "info")
        return redirect(home_for(account) if signed else url_for("auth.second_factor"))
    form = EnrolForm()
    if form.validate_on_submit() and session.get("enrol_secret"):
        db = db_session()
        try:
            with attempt(db):
                codes = second_factor.enrol(db, account, secret=session["enrol_secret"], code=form.code.data)
        except ValidationFailed:
            form.code.errors.append(_("The code is not correct. Check the time on your phone and enter the newest "
                                      "code."))
        else:
            target = session.get("pending_next")
            session.pop("enrol_secret", None)
            if signed is None:
                signed_in(db, account, second_factor=True)
                sign_in(account)
            return render_template("auth/recovery_codes.html", codes=codes, next=target or home_for(account))
    return _enrol_page(account, form, 400 if form.errors else 200)
