"""Password pages: forgotten password (a reset link by e-mail), setting a password through a link (reset or
invitation), and changing it while signed in. The rules and the links live in services/identity/passwords.py."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from wtforms import EmailField, PasswordField
from wtforms.validators import Regexp, ValidationError

from app import db_session
from app.auth.routes import bp
from app.forms import BaseForm, max_length, required
from app.i18n import _, _l
from app.security import current_account, login_required
from app.verbs import attempt
from services.errors import ValidationFailed
from services.identity import passwords

PROBLEMS = {
    "password_too_short": _l("Enter a password of at least 12 characters."),
    "password_too_long": _l("Enter a password of 200 characters or fewer."),
    "password_too_common": _l("This password is too common and easy to guess. Choose another one."),
    "password_contains_email": _l("Do not use your email address in your password."),
    "current_password_wrong": _l("Your current password is not correct."),
    "link_not_valid": _l("This link has expired or has already been used. Ask for a new one."),
}
HINT = _l("At least 12 characters. A few unrelated words make a password that is long and easy to remember.")


def _new_password_field():
    return PasswordField(_l("New password"), validators=[required(_l("Enter a new password.")), max_length(200)])


class ForgotPasswordForm(BaseForm):
    email = EmailField(_l("Email address"), filters=[lambda value: value.strip() if value else value], validators=[
        required(_l("Enter your email address.")),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
               message=_l("Enter an email address in the correct format, like name@example.com.")),
        max_length(254)])


class _ConfirmedPassword:
    def validate_confirm(self, field):
        if self.password.data and field.data != self.password.data:
            raise ValidationError(_("The two passwords do not match."))


class SetPasswordForm(_ConfirmedPassword, BaseForm):
    password = _new_password_field()
    confirm = PasswordField(_l("Confirm the new password"),
                            validators=[required(_l("Enter the new password again.")), max_length(200)])


class ChangePasswordForm(_ConfirmedPassword, BaseForm):
    current = PasswordField(_l("Current password"),
                            validators=[required(_l("Enter your current password.")), max_length(200)])
    password = _new_password_field()
    confirm = PasswordField(_l("Confirm the new password"),
                            validators=[required(_l("Enter the new password again.")), max_length(200)])


def _reset_mail(account):
    subject = _("Reset your OneWindow password")
    body = _("Someone (we hope you) asked to reset the password of your OneWindow account %(email)s.\n\n"
             "Open this link within 30 minutes to choose a new password:\n{link}\n\n"
             "If it was not you, ignore this message: your password stays as it is.", email=account.email)
    return subject, body


@bp.route("/forgot-password", methods=["GET", "POST"], endpoint="forgot_password")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        passwords.request_reset(db_session(), current_app.config, form.email.data, _reset_mail)
        # The same answer whether or not the address has an account.
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form), (400 if form.errors else 200)


@bp.route("/password/<token>", methods=["GET", "POST"], endpoint="set_password")
def set_password(token: str):
    session = db_session()
    try:
        with attempt(session):
            link = passwords.token_row(session, token)
    except ValidationFailed:
        return render_template("auth/link_not_valid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            with attempt(session):
                passwords.set_password_with_link(session, token, form.password.data)
        except ValidationFailed as refused:
            form.password.errors.append(PROBLEMS.get(refused.code, PROBLEMS["link_not_valid"]))
        else:
            flash(_("Your password is set. Sign in with it."), "success")
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/set_password.html", form=form, invitation=link.purpose == "invite",
                           hint=HINT), (400 if form.errors else 200)


@bp.route("/password/change", methods=["GET", "POST"], endpoint="change_password")
@login_required()
def change_password():
    session, account = db_session(), current_account()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with attempt(session):
                passwords.change_password(session, account, current=form.current.data, new=form.password.data)
        except ValidationFailed as refused:
            field = form.current if refused.code == "current_password_wrong" else form.password
            field.errors.append(PROBLEMS.get(refused.code, refused.code))
        else:
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.change_password"))
    return render_template("auth/change_password.html", form=form, hint=HINT), (400 if form.errors else 200)
