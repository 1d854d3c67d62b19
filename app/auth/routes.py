"""Sign in with email and password; sign out."""

from __future__ import annotations

import math

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, ngettext
from wtforms import EmailField, PasswordField
from wtforms.validators import Regexp

from app import db_session
from app.auth import throttle
from app.forms import BaseForm, CommandForm, max_length, required
from app.i18n import _, _l
from app.ratelimit import sign_in_rate_limited
from app.security import current_account, login_required, sign_out
from services.db import utcnow
from services.identity.service import authenticate, signed_out
from services.identity.sessions import active_sessions, end_all_sessions, token_id

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
@sign_in_rate_limited
def sign_in_page():
    form = SignInForm()
    if form.validate_on_submit():
        email, address = form.email.data, request.remote_addr
        until = throttle.locked_until(email, address)
        if until is not None:
            # No password is checked while locked; an unknown e-mail address gets exactly this answer too.
            retry_after = max(1, math.ceil((until - utcnow()).total_seconds()))
            # How long, which reads the same in any time zone; the clock time (China's) besides.
            form.email.errors.append(ngettext(
                "Too many failed sign-ins. For your safety, sign-in is paused: try again in %(num)d minute "
                "(after %(time)s, China time).",
                "Too many failed sign-ins. For your safety, sign-in is paused: try again in %(num)d minutes "
                "(after %(time)s, China time).", math.ceil(retry_after / 60), time=format_datetime(until, "HH:mm")))
            return (render_template("auth/sign_in.html", form=form), 429,
                    {"Retry-After": str(retry_after)})
        account = authenticate(db_session(), email, form.password.data)
        if account is not None:
            from app.auth.second_factor import begin_sign_in

            throttle.record_success(email)
            return begin_sign_in(account)  # signed in (a new session token), or on to the second factor
        throttle.record_failure(email, address)
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


class EndAllSessionsForm(CommandForm):
    pass


@bp.route("/sessions", endpoint="sessions")
@login_required()
def sessions_page():
    """Where the account is signed in (this browser and any other), with one button that ends every session."""
    rows = active_sessions(db_session(), current_account())
    this_one = token_id(session.token) if getattr(session, "token", None) else None
    return render_template("auth/sessions.html", rows=rows, this_one=this_one, form=EndAllSessionsForm(),
                           when=lambda at: format_datetime(at, "yyyy-MM-dd HH:mm"))


@bp.route("/sessions/end-all", methods=["POST"], endpoint="end_all_sessions")
@login_required()
def end_all_sessions_page():
    form = EndAllSessionsForm()
    if not form.validate_on_submit():
        flash(_("This form has expired. Reload the page and try again."), "error")
        return redirect(url_for("auth.sessions"))
    end_all_sessions(db_session(), current_account())
    sign_out()  # this browser's token was among those ended; the message below lives under a new one
    flash(_("Every session of your account has ended, on this device and any other. Sign in again to go on."),
          "success")
    return redirect(url_for("auth.sign_in"))


from app.auth import passwords, second_factor, staff  # noqa: E402,F401  (their routes join this blueprint)
