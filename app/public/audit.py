"""The audit trail's public face: the daily roots the hub signed, its certificate, and the script that checks a
resident's proof (services/audit/proof_check.py, served as it is in the repository)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template, send_file

from app import db_session
from app.public.routes import bp
from services.audit import proof_check
from services.audit.chain import hub_key_paths, published_roots


@bp.route("/audit/roots")
def audit_roots():
    roots = published_roots(db_session())
    return render_template("public/audit_roots.html", roots=roots)


@bp.route("/audit/hub-certificate.pem")
def audit_certificate():
    _key, cert = hub_key_paths(Path(current_app.config["KEY_DIR"]))
    return send_file(cert, mimetype="application/x-pem-file", as_attachment=True,
                     download_name="onewindow-hub-certificate.pem")


@bp.route("/audit/proof_check.py")
def audit_checker():
    return send_file(proof_check.__file__, mimetype="text/x-python", as_attachment=True,
                     download_name="proof_check.py")
