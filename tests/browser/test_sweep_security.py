"""The password, second-factor and audit pages through axe-core in each language, error states included: forgotten
password, the e-mailed link's page, a dead link, changing a password, enrolment and its recovery codes, the code at
sign-in, the administrator's staff pages (invite, remove a second factor) and the public audit roots.

Each language uses a staff account no other sweep signs in with, since enrolling changes how it signs in."""

from __future__ import annotations

import email as email_parser
import re
from email import policy as email_policy

import pyotp
import pytest

from tests.browser.test_accessibility_sweep import LANGUAGES, Sweep

pytestmark = pytest.mark.browser
ACCOUNT = {"zh_Hans_CN": "supervisor.medical", "zh_Hant_HK": "supervisor.hrss", "en": "supervisor.tax"}


def _reset_link(tmp_path_factory, email: str) -> str:
    """The link in the newest .eml the live server wrote for ``email`` (it has no MAIL_SERVER: instance/mail/)."""
    files = sorted(tmp_path_factory.getbasetemp().glob("live*/mail/*.eml"), key=lambda p: int(p.stem))
    for path in reversed(files):
        message = email_parser.message_from_bytes(path.read_bytes(), policy=email_policy.default)
        if message["To"] == email:  # the body is base64 when it is Chinese: read it decoded
            return re.search(r"/auth/password/[A-Za-z0-9_-]+", message.get_content()).group(0)
    raise AssertionError(f"no mail to {email} in {files}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_security_pages_pass_axe(browser, live_server, language, tmp_path_factory):
    sweep = Sweep.open(browser, live_server, language)
    page = sweep.page
    local = ACCOUNT[language]
    email = f"{local}@demo.onewindow.test"

    sweep.visit("/audit/roots", "audit roots")
    sweep.visit("/auth/forgot-password", "forgotten password")
    sweep.submit()
    sweep.check("forgotten password with errors")
    page.fill("#email", email)
    sweep.submit()
    sweep.check("reset link sent")
    link = _reset_link(tmp_path_factory, email)
    sweep.visit(link, "choose a new password")
    page.fill("#password", "short")
    page.fill("#confirm", "other")
    sweep.submit()
    sweep.check("choose a new password with errors")
    sweep.visit("/auth/password/not-a-real-token", "dead link")

    sweep.sign_in(local)
    sweep.visit("/auth/password/change", "change password")
    sweep.submit()
    sweep.check("change password with errors")
    sweep.visit("/auth/second-factor/enrol", "enrol a second factor")
    sweep.submit()
    sweep.check("enrol with errors")
    secret = page.locator("main code").first.inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    sweep.submit()
    sweep.check("recovery codes")

    sweep.sign_in(local)  # now asks for a code
    assert "/auth/second-factor" in page.url
    sweep.check("code at sign-in")
    sweep.submit()
    sweep.check("code at sign-in with errors")

    sweep.sign_in("admin")
    sweep.visit("/auth/staff", "staff accounts")
    sweep.visit("/auth/staff/invite", "invite a staff member")
    sweep.submit()
    sweep.check("invite with errors")
    sweep.visit("/auth/staff", "staff accounts again")
    remove = page.locator("main table a[href$='/second-factor']").first.get_attribute("href")
    sweep.visit(remove, "remove a second factor")
    sweep.submit()
    sweep.check("remove a second factor with errors")
    sweep.context.close()
    assert not sweep.problems, "\n".join(sweep.problems)
