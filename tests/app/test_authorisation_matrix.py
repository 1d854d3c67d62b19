"""The authorisation matrix: every route of the URL map, for every kind of person, with real ids, against a table.

Each route (method and rule) has a row in ``EXPECTED`` with the status every role gets. A route added without a row
fails ``test_every_route_has_a_row``, so whoever adds a page decides, in this table, who may open it. Every request
runs in a savepoint that is rolled back, so one role's POST (a removal, a claim) never changes what the next sees;
POSTs carry a valid CSRF token and nothing else, so a role that may act gets the form's 400 (or a redirect) and one
that may not gets its 403/404 before any form is read.

The roles, in the order of each row's statuses:
  anon          nobody signed in
  owner         王五, legal representative of the demo enterprise, applicant of its cases, holder of its licence
  resident      李四, a resident with nothing to do with any of it
  agent         赵六, the demo agent: a valid mandate of the enterprise for "open a restaurant" (the cases' service)
  agent_other   张三, with a valid mandate of the enterprise for another service only
  clerk         a clerk of the agency with the task and that issued the licence (market supervision)
  clerk_other   a clerk of another agency (fire and rescue)
  lead          the market agency's lead clerk
  supervisor    the market agency's supervisor
  admin         the administrator
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from services.applications.decisions import request_extension, request_supplement
from services.applications.drafts import start_draft
from services.applications.materials import add_files, material_items
from services.applications.service import Upload
from services.catalogue.models import Bundle
from services.identity.mandates import Mandate, grant_mandate
from services.licences.demo import DEMO_PDF, RESTAURANT_ANSWERS, demo_case_licences
from services.licences.sharing import create_share_link
from services.ratings import FollowUp, rate_case
from tests.app.test_portal_pages import accept, account, demo_enterprise, make_case
from tests.conftest import hidden_fields, sign_in
from workflows.models import Task
from workflows.states import TaskState

ROLES = ("anon", "owner", "resident", "agent", "agent_other", "clerk", "clerk_other", "lead", "supervisor", "admin")
ACCOUNTS = {"owner": "owner", "resident": "resident2", "agent": "agent", "agent_other": "resident",
            "clerk": "clerk.market", "clerk_other": "clerk.fire", "lead": "lead.market",
            "supervisor": "supervisor.market", "admin": "admin"}
DISCOVER = os.environ.get("AUTHZ_MATRIX_DISCOVER")  # print the table the code gives today, to review and paste

EXPECTED: dict[str, tuple[int, ...]] = {
    # role:    anon owner resident agent agent_other clerk clerk_other lead supervisor admin
    "GET /.well-known/jwks.json": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /auth/sign-in": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "POST /auth/sign-in": (400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    "POST /auth/sign-out": (302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    "GET /display/<mode>": (302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    "GET /issuers/<code>": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /language/<code>": (302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    # The personal and enterprise pages: residents only (staff 403), each object only to whoever the service layer
    # lets see it (404 hides that it exists): the agent for the cases' service sees the cases, not the owner's drafts
    # or licence files; the agent for another service sees the enterprise page (only its own services' rows).
    "GET /me/": (302, 200, 200, 200, 200, 403, 403, 403, 403, 403),
    "GET /me/acting-as": (302, 200, 200, 200, 200, 403, 403, 403, 403, 403),
    "POST /me/acting-as": (302, 400, 400, 400, 400, 403, 403, 403, 403, 403),
    "GET /me/apply/<bundle_code>": (302, 302, 200, 200, 200, 403, 403, 403, 403, 403),
    "POST /me/apply/<bundle_code>": (302, 302, 200, 302, 200, 403, 403, 403, 403, 403),
    "GET /me/cases/<reference>/materials/<int:material_id>": (302, 200, 404, 200, 404, 403, 403, 403, 403, 403),
    "GET /me/cases/<reference>/rating": (302, 302, 404, 302, 404, 403, 403, 403, 403, 403),
    "POST /me/cases/<reference>/rating": (302, 302, 404, 302, 404, 403, 403, 403, 403, 403),
    "GET /me/cases/<reference>/requests/<int:request_id>/answer": (302, 200, 404, 200, 404, 403, 403, 403, 403, 403),
    "POST /me/cases/<reference>/requests/<int:request_id>/answer": (302, 400, 404, 400, 404, 403, 403, 403, 403, 403),
    "GET /me/cases/<reference>/submitted": (302, 200, 404, 200, 404, 403, 403, 403, 403, 403),
    "GET /me/cases/<reference>/withdraw": (302, 200, 404, 200, 404, 403, 403, 403, 403, 403),
    "POST /me/cases/<reference>/withdraw": (302, 302, 404, 302, 404, 403, 403, 403, 403, 403),
    "GET /me/cases/<reference>": (302, 200, 404, 200, 404, 403, 403, 403, 403, 403),
    "GET /me/drafts/<int:draft_id>/check": (302, 302, 404, 404, 404, 403, 403, 403, 403, 403),
    "POST /me/drafts/<int:draft_id>/check": (302, 302, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /me/drafts/<int:draft_id>/delete": (302, 200, 404, 404, 404, 403, 403, 403, 403, 403),
    "POST /me/drafts/<int:draft_id>/delete": (302, 302, 404, 404, 404, 403, 403, 403, 403, 403),
    "POST /me/drafts/<int:draft_id>/files/<int:material_id>/remove": (302, 302, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /me/drafts/<int:draft_id>/files/<int:material_id>": (302, 200, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /me/drafts/<int:draft_id>/materials/<item_code>": (302, 200, 404, 404, 404, 403, 403, 403, 403, 403),
    "POST /me/drafts/<int:draft_id>/materials/<item_code>": (302, 302, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /me/drafts/<int:draft_id>/pages/<slug>": (302, 200, 404, 404, 404, 403, 403, 403, 403, 403),
    "POST /me/drafts/<int:draft_id>/pages/<slug>": (302, 400, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /me/drafts/<int:draft_id>": (302, 200, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /me/enterprises/<int:enterprise_id>/": (302, 200, 404, 200, 200, 403, 403, 403, 403, 403),
    "GET /me/enterprises/<int:enterprise_id>/activity": (302, 200, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /me/enterprises/<int:enterprise_id>/mandates/<int:mandate_id>/revoke":
        (302, 200, 403, 403, 403, 403, 403, 403, 403, 403),
    "POST /me/enterprises/<int:enterprise_id>/mandates/<int:mandate_id>/revoke":
        (302, 302, 403, 403, 403, 403, 403, 403, 403, 403),
    "GET /me/enterprises/<int:enterprise_id>/mandates/new": (302, 200, 403, 403, 403, 403, 403, 403, 403, 403),
    "POST /me/enterprises/<int:enterprise_id>/mandates/new": (302, 400, 403, 403, 403, 403, 403, 403, 403, 403),
    "GET /me/licences/<number>.pdf": (302, 200, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /me/licences/<number>/renew": (302, 200, 404, 200, 404, 403, 403, 403, 403, 403),
    "POST /me/licences/<number>/renew": (302, 409, 404, 302, 404, 403, 403, 403, 403, 403),
    "POST /me/licences/<number>/share/<int:link_id>/withdraw": (302, 302, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /me/licences/<number>/share": (302, 200, 404, 404, 404, 403, 403, 403, 403, 403),
    "POST /me/licences/<number>/share": (302, 400, 404, 404, 404, 403, 403, 403, 403, 403),
    "GET /services/<code>/eligibility": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /services/<code>": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /services/": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /shared/<token>": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /static/<path:filename>": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # Supervision: the agency's supervisor (and the administrator for the dashboard).
    "GET /supervision/": (302, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "GET /supervision/dashboard.csv": (302, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    "GET /supervision/dashboard": (302, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    "POST /supervision/extensions/<int:request_id>": (302, 403, 403, 403, 403, 403, 403, 403, 400, 403),
    # The joint extension (art. 42(2)) is the city's supervisor's alone: an agency's supervisor is refused.
    "POST /supervision/joint-extensions/<int:request_id>": (302, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    "POST /supervision/follow-ups/<int:item_id>": (302, 403, 403, 403, 403, 403, 403, 403, 400, 403),
    "GET /supervision/follow-ups": (302, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    # Public verification: everyone; by number a person's licence says nothing of its holder (test_verification.py).
    "GET /verify/<number>.json": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /verify/<number>/holder": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "POST /verify/<number>/holder": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /verify/<number>/licence": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /verify/<number>": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /verify": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # The clerk's workbench: the task's and licence's agency (market) and its lead only; reassigning is the lead's.
    "GET /work/": (302, 403, 403, 403, 403, 200, 200, 200, 403, 403),
    "GET /work/licences/<number>/<any(suspend, reinstate, revoke):action_name>":
        (302, 403, 403, 403, 403, 200, 403, 200, 403, 403),
    "POST /work/licences/<number>/<any(suspend, reinstate, revoke):action_name>":
        (302, 403, 403, 403, 403, 400, 403, 400, 403, 403),
    "GET /work/licences/<number>/amend": (302, 403, 403, 403, 403, 200, 403, 200, 403, 403),
    "POST /work/licences/<number>/amend": (302, 403, 403, 403, 403, 400, 403, 400, 403, 403),
    "GET /work/licences/<number>": (302, 403, 403, 403, 403, 200, 403, 200, 403, 403),
    "GET /work/licences": (302, 403, 403, 403, 403, 200, 200, 200, 403, 403),
    "POST /work/tasks/<int:task_id>/joint-extension": (302, 403, 403, 403, 403, 302, 403, 302, 403, 403),
    "POST /work/tasks/<int:task_id>/claim": (302, 403, 403, 403, 403, 302, 403, 302, 403, 403),
    "POST /work/tasks/<int:task_id>/comments": (302, 403, 403, 403, 403, 400, 403, 400, 403, 403),
    "GET /work/tasks/<int:task_id>/materials/<int:material_id>": (302, 403, 403, 403, 403, 200, 403, 200, 403, 403),
    "GET /work/tasks/<int:task_id>/reassign": (302, 403, 403, 403, 403, 403, 403, 200, 403, 403),
    "POST /work/tasks/<int:task_id>/reassign": (302, 403, 403, 403, 403, 403, 403, 400, 403, 403),
    "POST /work/tasks/<int:task_id>/release": (302, 403, 403, 403, 403, 302, 403, 302, 403, 403),
    "POST /work/tasks/<int:task_id>/resume": (302, 403, 403, 403, 403, 302, 403, 302, 403, 403),
    "GET /work/tasks/<int:task_id>": (302, 403, 403, 403, 403, 200, 403, 200, 403, 403),
    "POST /work/tasks/<int:task_id>": (302, 403, 403, 403, 403, 400, 403, 400, 403, 403),
    # A person's own sessions (README: Security).
    "GET /auth/sessions": (302, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "POST /auth/sessions/end-all": (302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    # Passwords, the staff second factor and the audit trail (README: Passwords, second factor and the audit trail).
    "GET /audit/hub-certificate.pem": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /audit/proof_check.py": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /audit/roots": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /auth/forgot-password": (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "POST /auth/forgot-password": (400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    "GET /auth/password/<token>": (404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "POST /auth/password/<token>": (404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "GET /auth/password/change": (302, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "POST /auth/password/change": (302, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    "GET /auth/second-factor/enrol": (302, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "POST /auth/second-factor/enrol": (302, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    "GET /auth/second-factor": (302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    "POST /auth/second-factor": (302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    "GET /auth/staff/<int:account_id>/second-factor": (302, 403, 403, 403, 403, 403, 403, 403, 403, 404),
    "POST /auth/staff/<int:account_id>/second-factor": (302, 403, 403, 403, 403, 403, 403, 403, 403, 404),
    "GET /auth/staff/invite": (302, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "POST /auth/staff/invite": (302, 403, 403, 403, 403, 403, 403, 403, 403, 400),
    "GET /auth/staff": (302, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "GET /me/audit-proof.json": (302, 200, 200, 200, 200, 200, 200, 200, 200, 200),
}


SESSION_ENDERS = ("POST /auth/sign-out", "POST /auth/sessions/end-all")


def _world(app, db) -> dict:
    """Real rows: an approved restaurant case with its material, licence, rating and follow-up; a running one with
    an open market task and an extension request; a draft with a file; a share link; the mandates."""
    owner, enterprise = account(db, "owner"), demo_enterprise(db)
    upload_dir = Path(app.config["UPLOAD_DIR"])
    (permit,) = demo_case_licences(db, "owner", "open_restaurant", RESTAURANT_ANSWERS, for_enterprise=True,
                                   key_dir=Path(app.config["KEY_DIR"]), public_url=app.config["PUBLIC_URL"],
                                   upload_dir=upload_dir)
    approved = permit.application
    approved_task = db.scalar(select(Task).where(Task.instance_id == approved.workflow_instance_id,
                                                 Task.agency_code == "market"))
    rating = rate_case(db, owner, approved, score=1, tags=[], comment="")
    follow_up = db.scalar(select(FollowUp).where(FollowUp.rating_id == rating.id, FollowUp.agency_code == "market"))
    running = make_case(db, owner, enterprise=enterprise, answers=dict(RESTAURANT_ANSWERS, address="广州市示例路9号"))
    accept(db, running)
    task = db.scalar(select(Task).where(Task.instance_id == running.workflow_instance_id,
                                        Task.agency_code == "market", Task.state == TaskState.OPEN))
    extension = request_extension(db, account(db, "clerk.market"), task.id, reason="现场核查",
                                  command_id=uuid.uuid4().hex)
    env_task = db.scalar(select(Task).where(Task.instance_id == running.workflow_instance_id,
                                            Task.agency_code == "env", Task.state == TaskState.OPEN))
    supplement = request_supplement(db, account(db, "clerk.env"), env_task.id, items=["排污许可证明"], note="",
                                    command_id=uuid.uuid4().hex)
    bundle = db.scalar(select(Bundle).where(Bundle.code == "open_restaurant"))
    draft, _created = start_draft(db, owner, bundle, enterprise_id=enterprise.id)
    item = material_items(db, bundle)[0]
    (draft_file,) = add_files(db, draft, item, [Upload(item.code, "lease.pdf", DEMO_PDF)], upload_dir)
    link, token = create_share_link(db, owner, permit.number, days=7, command_id=uuid.uuid4().hex)
    mandate = db.scalar(select(Mandate).where(Mandate.enterprise_id == enterprise.id,
                                              Mandate.agent_id == account(db, "agent").id))
    zhang = account(db, "resident")
    grant_mandate(db, owner, enterprise.id, agent_name=zhang.name, agent_id_number=zhang.id_number,
                  bundle_codes=["residence_permit"], all_services=False,
                  expires_on=mandate.expires_on)
    db.commit()
    return {"reference": approved.reference, "material_id": approved.materials[0].id,
            "request_id": extension.id, "supplement_id": supplement.id, "running_reference": running.reference,
            "draft_id": draft.id, "draft_file_id": draft_file.id,
            "item_code": item.code, "slug": "name-and-address", "enterprise_id": enterprise.id,
            "mandate_id": mandate.id, "number": permit.number, "link_id": link.id, "token": token,
            "bundle_code": "open_restaurant", "code": "open_restaurant", "task_id": task.id,
            "approved_task_id": approved_task.id, "item_id": follow_up.id,
            "account_id": account(db, "clerk.market").id}


PARAMS = {  # how each URL variable is filled from the world; a few routes take other values
    "public.set_display": {"mode": "large"}, "public.set_language": {"code": "en"},
    "public.issuer": {"code": "market"}, "static": {"filename": "css/site.css"},
    "clerk.licence_status": {"action_name": "suspend"},
    "clerk.material": {"task_id": "approved_task_id"},
    "portal.answer_items": {"reference": "running_reference", "request_id": "supplement_id"},
    "portal.draft_file_download": {"material_id": "draft_file_id"},
    "portal.remove_draft_file": {"material_id": "draft_file_id"},
}


def _url(app, rule, world) -> str:
    values = {}
    for name in rule.arguments:
        override = PARAMS.get(rule.endpoint, {}).get(name)
        values[name] = world[override] if override in world else override if override else world[name]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _routes(app) -> list[tuple[str, object]]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((f"{method} {rule.rule}", rule))
    return sorted(found, key=lambda pair: pair[0].split(" ", 1)[1] + pair[0])


def test_every_route_has_a_row(app):
    missing = [key for key, _rule in _routes(app) if key not in EXPECTED]
    assert not missing, "routes without a row in EXPECTED (decide who may open them): " + ", ".join(missing)
    stale = sorted(set(EXPECTED) - {key for key, _rule in _routes(app)})
    assert not stale, "rows for routes that no longer exist: " + ", ".join(stale)
    assert all(len(row) == len(ROLES) for row in EXPECTED.values())


@pytest.fixture
def no_rate_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", 0)
    monkeypatch.setitem(app.config, "RATELIMIT_PREFIX", f"matrix-{uuid.uuid4().hex[:8]}-")


def test_every_role_gets_the_expected_status_on_every_route(app, db, no_rate_limits):
    world = _world(app, db)
    connection = db.connection()
    routes = _routes(app)
    got: dict[str, list[int]] = {key: [] for key, _rule in routes}
    for role in ROLES:
        client = app.test_client()
        if role != "anon":
            sign_in(client, f"{ACCOUNTS[role]}@demo.onewindow.test")
        csrf = hidden_fields(client.get("/auth/sign-in" if role == "anon" else "/").get_data(as_text=True))
        # Reads first: removing a draft's file deletes it from disk at once, which no savepoint rolls back. Signing
        # out (or ending every session) ends the walk: it would sign this role out for the routes after it.
        last = {key: SESSION_ENDERS.index(key) + 1 for key in SESSION_ENDERS}
        for key, rule in sorted(routes, key=lambda pair: (last.get(pair[0], 0), not pair[0].startswith("GET "),
                                                          pair[0])):
            if key == SESSION_ENDERS[-1] and role != "anon":  # the one before it ended the session: again
                sign_in(client, f"{ACCOUNTS[role]}@demo.onewindow.test")
                csrf = hidden_fields(client.get("/").get_data(as_text=True))
            method = key.split(" ", 1)[0]
            url = _url(app, rule, world)
            savepoint = connection.begin_nested()
            try:
                response = client.open(url, method=method,
                                       data={"csrf_token": csrf.get("csrf_token", "")} if method == "POST" else None)
            finally:
                savepoint.rollback()
            got[key].append(response.status_code)
    if DISCOVER:
        for key, _rule in routes:
            print(f'    "{key}": {tuple(got[key])},')
    wrong = [f"{key}: expected {EXPECTED.get(key)}, got {tuple(statuses)}" for key, statuses in got.items()
             if tuple(statuses) != EXPECTED.get(key)]
    assert not wrong, f"roles {ROLES}\n" + "\n".join(wrong)
