"""Mandates, ratings and their follow-ups for the generated data (`bench/gen_data.py`), written set-based by the
database (``INSERT ... SELECT``) after the cases: no row goes through Python, so a million cases take seconds.

The mix, chosen by arithmetic on the ids so that a run is repeatable: one generated enterprise in five has
mandated an agent (the next generated resident after its representative), most for the restaurant bundle only,
some for every service, some expired or revoked; three decided cases in ten are rated, mostly 5 and 4, about 9 %
with 1 or 2, and each poor rating has an open follow-up for every agency that had a branch in the case.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, bindparam, text

from services import clock
from services.db import Database, UTCDateTime, utcnow

GENERATED_EMAIL = "%@bench.onewindow.test"
# Buckets of (id * 37) % 100: below 62 a 5, below 82 a 4, below 91 a 3, below 96 a 2, otherwise a 1.
SCORE = ("CASE WHEN (a.id * 37) % 100 < 62 THEN 5 WHEN (a.id * 37) % 100 < 82 THEN 4 "
         "WHEN (a.id * 37) % 100 < 91 THEN 3 WHEN (a.id * 37) % 100 < 96 THEN 2 ELSE 1 END")
TAGS = ("CASE WHEN (a.id * 37) % 100 < 62 THEN '[\"polite_helpful\", \"easy_online\"]' "
        "WHEN (a.id * 37) % 100 < 91 THEN '[]' WHEN (a.id * 37) % 100 < 96 THEN '[\"unclear_guidance\"]' "
        "ELSE '[\"over_time_limit\", \"extra_material\"]' END")

MANDATE_SCOPE = """CASE WHEN m.enterprise_id % 4 = 0 THEN '[]' ELSE '["open_restaurant"]' END"""


def add_service_page_data(database: Database, *, first_enterprise_id: int, first_application_id: int,
                          today: dt.date | None = None) -> dict[str, int]:
    """Add mandates for generated enterprises from ``first_enterprise_id`` on and ratings (with follow-ups) for
    generated decided cases from ``first_application_id`` on; return the rows added per table."""
    today, now = today or clock.today(), utcnow()
    json = "CAST({} AS JSON)" if database.is_postgresql else "{}"
    times = [bindparam("now", type_=UTCDateTime())]
    days = [bindparam("expired", type_=Date()), bindparam("valid_until", type_=Date())]
    counts = {}
    with database.transaction() as session:
        if database.is_postgresql:
            # Fresh statistics first: with none (a new database, autovacuum not yet round), the planner takes the
            # agent look-up below for one row and seq-scans 200,000 accounts per enterprise (hours) instead of
            # walking the primary key (milliseconds).
            session.execute(text("ANALYZE accounts, enterprises, applications"))
        counts["mandates"] = session.execute(text(f"""
            INSERT INTO mandates (enterprise_id, agent_id, granted_by, all_services, bundle_codes, expires_on,
                                  granted_at, revoked_at, revoked_by)
            SELECT m.enterprise_id, m.agent_id, m.granted_by, m.enterprise_id % 4 = 0,
                   {json.format(MANDATE_SCOPE)},
                   CASE WHEN m.enterprise_id % 7 = 0 THEN :expired ELSE :valid_until END, :now,
                   CASE WHEN m.enterprise_id % 11 = 0 THEN :now END,
                   CASE WHEN m.enterprise_id % 11 = 0 THEN m.granted_by END
            FROM (SELECT e.id AS enterprise_id, e.legal_representative_id AS granted_by,
                         (SELECT n.id FROM accounts n WHERE n.role = 'RESIDENT' AND n.email LIKE :generated
                          AND n.id > e.legal_representative_id ORDER BY n.id LIMIT 1) AS agent_id
                  FROM enterprises e JOIN accounts r ON r.id = e.legal_representative_id
                  WHERE e.id >= :first AND e.id % 5 = 0 AND r.email LIKE :generated) m
            WHERE m.agent_id IS NOT NULL""").bindparams(*times, *days),
            {"first": first_enterprise_id, "generated": GENERATED_EMAIL, "now": now,
             "expired": today - dt.timedelta(days=30), "valid_until": today + dt.timedelta(days=365)}).rowcount
        counts["ratings"] = session.execute(text(f"""
            INSERT INTO ratings (application_id, account_id, score, tags, comment, created_at)
            SELECT a.id, a.applicant_id, {SCORE}, {json.format(TAGS)}, '', COALESCE(a.decided_at, :now)
            FROM applications a
            WHERE a.id >= :first AND a.submission_token LIKE 'gen%' AND a.status IN ('APPROVED', 'REJECTED')
              AND (a.id * 13) % 10 < 3
              AND NOT EXISTS (SELECT 1 FROM ratings o WHERE o.application_id = a.id)""").bindparams(*times),
            {"first": first_application_id, "now": now}).rowcount
        counts["follow_ups"] = session.execute(text("""
            INSERT INTO follow_ups (rating_id, agency_code, state, created_at)
            SELECT DISTINCT r.id, b.agency_code, 'OPEN', r.created_at
            FROM ratings r JOIN applications a ON a.id = r.application_id
            JOIN wf_branches b ON b.instance_id = a.workflow_instance_id
            WHERE r.score <= 2 AND a.id >= :first AND a.submission_token LIKE 'gen%'
              AND NOT EXISTS (SELECT 1 FROM follow_ups f WHERE f.rating_id = r.id)"""),
            {"first": first_application_id}).rowcount
    return counts
