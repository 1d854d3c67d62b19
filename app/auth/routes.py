"""Sign in with email and password; sign out."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from wtforms import EmailField, PasswordField
from wtforms.validators import Regexp

from app import db_session
from app.forms import BaseForm, max_length, required
from app.i18n import _, _l
from app.security import current_account, sign_out
from services.identity.service import authenticate, signed_out

bp = Blueprint("auth", __name__, url_prefix="/auth")


class SignInForm(BaseForm):
    email = EmailField(_l("Email address"), filters=[lambda value: value.strip() if value else value], validators=[
        required(_l("Enter your email address.")),
        # A shape check only: email_validator refuses the reserved .test domain the demo accounts use.
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
               message=_l("Enter an email address in the correct format, like name@example.com.")),
        max_length(254)])
    password = PasswordField(_l("Password"), validators=[required(_l("Enter your password.")), max_length(200)])


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page():
    form = SignInForm()
    if form.validate_on_submit():
        account = authenticate(db_session(), form.email.data, form.password.data)
        if account is not None:
            from app.auth.second_factor import begin_sign_in

            return begin_sign_in(account)  # signed in, or on to the second factor
        g.commit_on_error = True  # the failed sign-in's audit row stays
        form.email.errors.append(_("The email address or password is not correct. Check them and try again."))
    return render_template("auth/sign_in.html", form=form), (400 if form.errors else 200)


@bp.route("/sign-out", methods=["POST"], endpoint="sign_out")
def sign_out_page():
    account = current_account()
    if account is not None:
        signed_out(db_session(), account)
        sign_out()
        flash(_("You have signed out."), "success")
    return redirect(url_for("public.home"))


from app.auth import passwords, second_factor, staff  # noqa: E402,F401  (their routes join this blueprint)
