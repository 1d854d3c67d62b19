"""Realistic volumes for the page benchmarks (`bench/gen_data.py`).

``generate`` adds residents, enterprises with their legal representatives, clerks, and applications of the
restaurant bundle (and of a resident bundle ``residence_permit`` when the catalogue has one whose definition has the
same acceptance → split → branches → join shape) with everything a real case leaves behind: the workflow instance,
its branches, tasks, events, requests, pending timers, the materials row, licences of approved cases, notifications
and access records (the queue and supervision tallies are recounted at the end). After the cases,
mandates, ratings and their follow-ups are added set-based (bench/datagen/service_pages.py). The state mix
follows a live system: about 70 % approved, 5 % refused and 25 % still running, the running ones biased so that the
market agency holds most open tasks (100,000+ at the default volume).

Rows are written in bulk: PostgreSQL ``COPY ... FROM STDIN`` (psycopg 3), ``executemany`` in chunks on SQLite. Ids
are assigned here, after the current maximum id (and the sequence's last value), and the sequences are moved past
them; the case-reference and licence-number counters are advanced the same way. Running it again adds more data:
e-mail addresses, identity numbers and credit codes are derived from the new ids, so they never collide.

Generated rows are recognisable: e-mail addresses end in ``@bench.onewindow.test``, submission tokens and storage
keys start with ``gen``, licences carry the scope "generated for benchmarks" and a one-page placeholder PDF (not
signed), and material rows have no file on disk (their download answers 404). The password of every generated
account is the demo password; it is hashed once and the hash shared.

The generator assumes nobody else writes to the database while it runs (it reserves ids by max + 1).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select, text

from bench.datagen.vocabulary import (
    APPROVAL_OPINIONS,
    COMPANY_KINDS,
    DISTRICTS,
    ENTERPRISE_AREAS,
    GIVEN,
    MOBILE_PREFIXES,
    PAUSE_REASONS,
    REFUSALS,
    ROADS,
    SHOP_KINDS,
    SUPPLEMENT_ITEMS,
    SURNAMES,
    TRADE_NAMES,
    placeholder_pdf,
    resident_id_for,
    uscc_for,
)
from bench.datagen.writing import TABLES, Sink, Writer
from services import clock
from services.applications.models import CaseStatus
from services.db import Database
from services.identity.identifiers import make_licence_number, make_reference
from services.identity.models import Role
from services.licences.models import LicenceStatus
from workflows.states import BranchState, InstanceState, RequestKind, RequestState, TaskState, TimerKind

GENERATED_DOMAIN = "bench.onewindow.test"
GENERATED_SCOPE = "generated for benchmarks"
CHUNK = 10_000  # applications per transaction
SERVICE_PAGE_TABLES = ("mandates", "ratings", "follow_ups")  # added set-based after the cases
CLERKS_PER_AGENCY = 20
UTC = dt.UTC

# Enum columns store the member's name (SQLAlchemy's default): these map the values used below to what is stored.
ROLE = {m.value: m.name for m in Role}
CASE = {m.value: m.name for m in CaseStatus}
INSTANCE = {m.value: m.name for m in InstanceState}
BRANCH = {m.value: m.name for m in BranchState}
TASK = {m.value: m.name for m in TaskState}
REQUEST_KIND = {m.value: m.name for m in RequestKind}
REQUEST_STATE = {m.value: m.name for m in RequestState}
TIMER = {m.value: m.name for m in TimerKind}
LICENCE = {m.value: m.name for m in LicenceStatus}

# -- the generator --------------------------------------------------------------------------------------------------

@dataclass
class _Shape:
    """A bundle whose definition is acceptance task → split → branch tasks → join → ... → end."""

    bundle_id: int
    key: str
    version: int
    acceptance: object  # the acceptance task node
    split: object
    branches: list  # branch task nodes
    join_id: str
    after_join: list  # action nodes between the join and the end
    joint_days: int


@dataclass
class Result:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def total_work(*, applications: int, residents: int, enterprises: int) -> int:
    """The progress bar's length: ``progress`` is called with increments that add up to this."""
    return applications + residents + enterprises


def generate(database: Database, *, applications: int = 1_000_000, residents: int = 200_000,
             enterprises: int = 50_000, seed: int = 1, progress: Callable[[int], None] | None = None,
             today: dt.date | None = None, chunk: int = CHUNK, vacuum: bool = False) -> Result:
    """Add realistic data: ``residents`` people, ``enterprises`` with legal representatives among them, clerks, and
    ``applications`` cases with their whole history. Returns the row counts written and the seconds it took.

    ``progress`` is called with increments of written residents, enterprises and applications (their sum is
    ``total_work``). ``vacuum`` ends with ``VACUUM (ANALYZE)`` on PostgreSQL (visibility map and hint bits as a
    database that autovacuum looks after would have them; it needs a connection of its own, so not in tests);
    otherwise the tables are only analysed."""
    started = time.perf_counter()
    generator = _Generator(database, seed=seed, today=today or clock.today(), progress=progress or (lambda n: None))
    generator.prepare()
    generator.writer = Writer(generator)
    first_enterprise, first_application = generator.next_id["enterprises"], generator.next_id["applications"]
    try:
        generator.people(residents, enterprises)
        generator.cases(applications, chunk)
    finally:
        generator.writer.close()
    generator.report_progress()
    from bench.datagen.service_pages import add_service_page_data

    generator.counts.update(add_service_page_data(database, first_enterprise_id=first_enterprise,
                                                  first_application_id=first_application, today=generator.today))
    generator.finish(vacuum=vacuum)
    return Result(counts=dict(generator.counts), seconds=time.perf_counter() - started, notes=generator.notes)


class _Generator:
    writer: Writer

    def __init__(self, database: Database, *, seed: int, today: dt.date, progress):
        self.database, self.rng, self.today, self.progress = database, random.Random(seed), today, progress
        self.random = self.rng.random
        self.now = dt.datetime.now(UTC)
        self.sink = Sink(database)
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.notes: list[str] = []
        self.next_id: dict[str, int] = {}
        self.counters: dict[str, int] = {}
        self.dirty_counters: set[str] = set()
        self.reported = 0
        self.json_cache: dict = {}

    # -- setup -------------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        from services.applications.service import engine
        from services.catalogue.demo import DEMO_PASSWORD, seed_demo
        from services.catalogue.models import Agency, Bundle, LicenceType, Matter
        from services.identity.models import Account, Role
        from services.identity.service import hash_password

        with self.database.transaction() as session:
            if session.scalar(select(func.count()).select_from(Agency)) == 0:
                seed_demo(session)
        self.password_hash = hash_password(DEMO_PASSWORD)  # once, shared by every generated account
        registry = engine().registry
        with self.database.transaction() as session:
            self.calendar = engine(session).calendar  # with the holiday notices recorded in the database
            self.sink.prepare(session)
            self.agencies = {a.code: a.id for a in session.scalars(select(Agency))}
            self.licence_types = {t.id: (t.agency.code, t.agency_id, t.validity_years)
                                  for t in session.scalars(select(LicenceType))}
            self.matters = {m.code: m.licence_type_id for m in session.scalars(select(Matter))}
            self.shapes: dict[str, _Shape] = {}
            for bundle in session.scalars(select(Bundle).where(Bundle.code.in_(["open_restaurant",
                                                                                 "residence_permit"]))):
                shape = self._shape(registry, bundle)
                if shape is None:
                    self.notes.append(f"bundle {bundle.code}: its definition is not acceptance → split → join; "
                                      "no cases generated for it")
                else:
                    self.shapes[bundle.code] = shape
            if "open_restaurant" not in self.shapes:
                raise RuntimeError("the open_restaurant bundle and its definition are needed")
            if "residence_permit" not in self.shapes:
                self.notes.append("no residence_permit bundle: every case is a restaurant case of an enterprise")
            for table in TABLES:
                self.next_id[table] = self._first_free_id(session, table)
            self.existing_clerks = session.execute(select(Account.id, Account.agency_id).where(
                Account.role == Role.CLERK, Account.agency_id.is_not(None))).all()
            for name, value in session.execute(text("SELECT name, value FROM counters WHERE name LIKE 'case:%' "
                                                    "OR name LIKE 'licence:%'")):
                self.counters[name] = value
        self.pdf = placeholder_pdf()
        self.pdf_sha256 = hashlib.sha256(self.pdf).hexdigest()
        # Working days as a list of ordinals of the engine's calendar, addressed by index (today's index: self.t0),
        # so that "n working days later" is index arithmetic.
        first, last = self.today - dt.timedelta(days=5 * 366), self.today + dt.timedelta(days=2 * 366)
        self.work = [d.toordinal() for d in (first + dt.timedelta(days=i) for i in range((last - first).days))
                     if self.calendar.is_working_day(d)]
        self.t0 = bisect_left(self.work, self.today.toordinal())
        self.days: dict[int, dt.date] = {}
        self.midnights: dict[int, dt.datetime] = {}
        self.day_strings: dict[int, str] = {}

    def _shape(self, registry, bundle) -> _Shape | None:
        try:
            definition = registry.get(bundle.workflow_key)
        except Exception:  # noqa: BLE001 - an unknown key is reported in the notes
            return None
        acceptance = definition.node(definition.start)
        if acceptance.type != "task" or not acceptance.acceptance:
            return None
        split = definition.nodes.get(acceptance.next)
        if split is None or split.type != "split":
            return None
        branches = [definition.node(b) for b in split.branches]
        if any(b.type != "task" or b.next != split.join for b in branches):
            return None
        after, node = [], definition.node(definition.node(split.join).next)
        while node.type == "action":
            after.append(node)
            node = definition.node(node.next)
        if node.type != "end" or node.outcome != "approved":
            return None
        return _Shape(bundle.id, definition.key, definition.version, acceptance, split, branches, split.join, after,
                      definition.joint_limit_days)

    def _first_free_id(self, session, table: str) -> int:
        highest = session.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))
        if self.database.is_postgresql:
            sequence = session.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
            last, called = session.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
            highest = max(highest, last if called else last - 1)
        return highest + 1

    def _take(self, table: str) -> int:
        first = self.next_id[table]
        self.next_id[table] = first + 1
        return first

    def _submit(self, rows: dict[str, list[tuple]], units: int) -> None:
        counters = {name: self.counters[name] for name in self.dirty_counters}
        self.dirty_counters.clear()
        self.writer.put(rows, counters, {table: self.next_id[table] - 1 for table in rows}, units)
        self.report_progress()

    def report_progress(self) -> None:
        written = self.writer.written
        if written > self.reported:
            self.progress(written - self.reported)
            self.reported = written

    # -- helpers -----------------------------------------------------------------------------------------------

    def below(self, n: int) -> int:
        """A random integer in [0, n) (cheaper than ``randrange``; the bias is irrelevant here)."""
        return int(self.random() * n)

    def day(self, index: int) -> dt.date:
        found = self.days.get(index)
        if found is None:
            found = self.days[index] = dt.date.fromordinal(self.work[index])
        return found

    def moment(self, index: int, seconds: int | None = None) -> dt.datetime:
        """A time on working day ``index``: office hours in Beijing (01:00–10:00 UTC), never later than now."""
        midnight = self.midnights.get(index)
        if midnight is None:
            d = self.day(index)
            midnight = self.midnights[index] = dt.datetime(d.year, d.month, d.day, tzinfo=UTC)
        moment = midnight + dt.timedelta(seconds=3600 + int(self.random() * 32400) if seconds is None else seconds)
        return min(moment, self.now) if index >= self.t0 else moment

    def J(self, value, key=None):
        """``value`` as the sink wants JSON; ``key`` (hashable) caches the encoding of repeated values."""
        if key is None:
            return self.sink.json(value)
        found = self.json_cache.get(key)
        if found is None:
            found = self.json_cache[key] = self.sink.json(value)
        return found

    def name(self) -> str:
        rng = self.rng
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if self.random() < 0.7 else "")
        return rng.choice(SURNAMES) + given

    def mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.below(10 ** 8):08d}"

    def serial(self, name: str) -> int:
        value = self.counters.get(name, 0) + 1
        self.counters[name] = value
        self.dirty_counters.add(name)
        return value

    # -- people ------------------------------------------------------------------------------------------------

    def people(self, residents: int, enterprises: int) -> None:
        rng, now = self.rng, self.now
        self.clerks: dict[str, list[int]] = {}
        code_of = {v: k for k, v in self.agencies.items()}
        for account_id, agency_id in self.existing_clerks:
            self.clerks.setdefault(code_of[agency_id], []).append(account_id)
        agencies = set()
        for shape in self.shapes.values():
            agencies |= {shape.acceptance.agency} | {b.agency for b in shape.branches}
        rows = []
        for code in sorted(agencies):
            for _ in range(CLERKS_PER_AGENCY):
                account_id = self._take("accounts")
                rows.append((account_id, f"clerk.{code}.{account_id}@{GENERATED_DOMAIN}", self.password_hash,
                             ROLE["clerk"], self.name(), None, None, self.agencies[code], True,
                             now - dt.timedelta(days=rng.randrange(30, 2000))))
                self.clerks.setdefault(code, []).append(account_id)
        self._submit({"accounts": rows}, 0)
        self.residents: list[tuple[int, str, str]] = []  # (id, name, identity number)
        step = 20_000
        for start in range(0, residents, step):
            rows = []
            for _ in range(min(step, residents - start)):
                account_id = self._take("accounts")
                name, id_number = self.name(), resident_id_for(account_id)
                rows.append((account_id, f"resident.{account_id}@{GENERATED_DOMAIN}", self.password_hash,
                             ROLE["resident"], name, id_number, self.mobile(), None, True,
                             now - dt.timedelta(days=rng.randrange(1, 2500), seconds=rng.randrange(86400))))
                self.residents.append((account_id, name, id_number))
            self._submit({"accounts": rows}, len(rows))
        if enterprises and not self.residents:
            raise ValueError("enterprises need residents to represent them")
        self.enterprises: list[tuple[int, int, str, str]] = []  # (id, representative id, name, credit code)
        for start in range(0, enterprises, step):
            rows = []
            for _ in range(min(step, enterprises - start)):
                enterprise_id = self._take("enterprises")
                representative = rng.choice(self.residents)[0]
                name = "广州" + rng.choice(TRADE_NAMES) + rng.choice(COMPANY_KINDS)
                uscc = uscc_for(enterprise_id, rng.choice(ENTERPRISE_AREAS))
                rows.append((enterprise_id, name, uscc, representative,
                             now - dt.timedelta(days=rng.randrange(1, 3000))))
                self.enterprises.append((enterprise_id, representative, name, uscc))
            self._submit({"enterprises": rows}, len(rows))

    # -- cases -------------------------------------------------------------------------------------------------

    def cases(self, applications: int, chunk: int) -> None:
        if applications and not self.enterprises:
            raise ValueError("restaurant cases need enterprises")
        if "residence_permit" in self.shapes and not self.residents:
            raise ValueError("residence permit cases need residents")
        done = 0
        while done < applications:
            n = min(chunk, applications - done)
            rows: dict[str, list[tuple]] = {table: [] for table in TABLES if table not in ("accounts", "enterprises")}
            for _ in range(n):
                self.case(rows)
            self._submit(rows, n)
            done += n

    def _answers(self, code: str) -> dict:
        rng, below = self.rng, self.below
        address = (f"广州市{rng.choice(DISTRICTS)}{rng.choice(ROADS)}{below(998) + 1}号"
                   f"{rng.choice(('首层', '首层之一', '二层', '负一层', ''))}{below(29) + 1}号铺")
        if code == "residence_permit":
            return {"address": address, "reason": rng.choice(("employment", "study", "family"))}
        floor_area = int(rng.lognormvariate(4.2, 0.6))  # median ~67 m²: 6 in 10 reach the fire check's 50 m²
        return {"shop_name": rng.choice(TRADE_NAMES) + rng.choice(SHOP_KINDS), "address": address,
                "floor_area": max(floor_area, 8), "seats": max(int(floor_area * (0.3 + 0.5 * self.random())), 0),
                "signboard": self.random() < 0.55}

    def case(self, rows: dict[str, list[tuple]]) -> None:
        rng, J, below, t0 = self.rng, self.J, self.below, self.t0
        resident_case = "residence_permit" in self.shapes and self.random() < 0.2
        code = "residence_permit" if resident_case else "open_restaurant"
        shape = self.shapes[code]
        if resident_case:
            applicant, holder_name, holder_identifier = rng.choice(self.residents)
            enterprise_id = None
        else:
            enterprise_id, applicant, holder_name, holder_identifier = rng.choice(self.enterprises)
        answers = self._answers(code)
        applicable = [b for b in shape.branches if b.when is None or b.when.evaluate(answers)]
        roll = self.random()
        outcome = "approved" if roll < 0.70 else "rejected" if roll < 0.75 else "running"
        if outcome == "running":
            if self.random() < 0.06:  # still waiting for the lead window (deemed accepted after 5 working days)
                received, accepted = t0 - below(5), None
            else:
                accepted = t0 - int(rng.triangular(0, 32, 4))
                received = accepted - rng.choice((0, 0, 1, 1, 2, 3))
        else:
            received = t0 - 70 - below(680)  # decided (at most 58 working days later) before today
            accepted = received + rng.choice((0, 0, 1, 1, 2, 3))
        app_id, instance_id = self._take("applications"), self._take("wf_instances")
        received_day = self.day(received)
        reference = make_reference("GZ", received_day, self.serial(f"case:{received_day.isoformat()}"))
        submitted_at = self.moment(received)
        hub = shape.acceptance.agency
        # [at, actor, kind, node, detail, command]; command True: "gen:<event id>"
        events: list[list] = [[submitted_at, applicant, "started", None, J({"version": shape.version},
                                                                            ("version", shape.version)),
                               f"submit:gen{app_id}"]]
        notes: list[tuple] = [("case_submitted", {"reference": reference}, submitted_at)]
        tasks, timers = rows["wf_tasks"], rows["wf_timers"]
        acceptance_due = self.day(received + shape.acceptance.limit_days)
        ended_at, joint_due = None, None
        self._approved_branches: list[tuple] = []
        if accepted is None:
            tasks.append((self._take("wf_tasks"), instance_id, None, shape.acceptance.id, hub, shape.acceptance.role,
                          TASK["open"], acceptance_due, submitted_at, None, None, None, None, None))
            timers.append((self._take("wf_timers"), instance_id, None, TIMER["acceptance_deadline"],
                           acceptance_due + dt.timedelta(days=1), None, None))
            # The engine's instance is running; the application waits for acceptance ("submitted").
            instance_state, status = "running", "submitted"
        else:
            accept_at = max(self.moment(accepted), submitted_at + dt.timedelta(minutes=5))
            hub_clerk = rng.choice(self.clerks[hub])
            tasks.append((self._take("wf_tasks"), instance_id, None, shape.acceptance.id, hub, shape.acceptance.role,
                          TASK["completed"], acceptance_due, submitted_at, accept_at, hub_clerk, "accept", None, None))
            rows["access_records"].append((self._take("access_records"), app_id, hub_clerk, hub, "clerk", "review",
                                           accept_at - dt.timedelta(seconds=60 + below(3600))))
            events.append([accept_at, hub_clerk, "task_accept", shape.acceptance.id,
                           J({"opinion": ""}, ("opinion", "")), True])
            notes.append(("case_in_review", {"reference": reference}, accept_at))
            joint_due = self.day(accepted + shape.joint_days)
            for node in shape.branches:
                if not any(node is b for b in applicable):
                    events.append([accept_at, None, "branch_skipped", node.id,
                                   J({"condition": node.when.source}, ("skip", node.id)), None])
            started = tuple(b.id for b in applicable)
            events.append([accept_at, None, "fanned_out", shape.split.id,
                           J({"branches": list(started)}, ("fanned_out", started)), None])
            last_decision = accept_at
            for node, plan in zip(applicable, self._plan_branches(outcome, applicable, accepted), strict=True):
                last_decision = max(last_decision, self._branch(rows, events, notes, node, plan, instance_id, app_id,
                                                                reference, accepted, accept_at))
            if outcome == "running":
                instance_state, status = "running", "in_review"
                timers.append((self._take("wf_timers"), instance_id, None, TIMER["joint_deadline"],
                               joint_due + dt.timedelta(days=1), None, None))
            else:
                ended_at = last_decision + dt.timedelta(seconds=1 + below(30))
                instance_state = status = outcome
                if outcome == "approved":
                    events.append([ended_at, None, "joined", shape.join_id, J({}, "empty"),
                                   f"join:{instance_id}:{shape.join_id}"])
                    for action in shape.after_join:
                        events.append([ended_at, None, "action", action.id,
                                       J({"action": action.action}, ("action", action.action)), None])
                events.append([ended_at, None, "ended", None, J({"state": outcome}, ("ended", outcome)), None])
                notes.append((f"case_{outcome}", {"reference": reference}, ended_at))
                if outcome == "approved":
                    self._licences(rows, notes, app_id, reference, enterprise_id, applicant, holder_name,
                                   holder_identifier, ended_at)
        data = J(answers)
        rows["wf_instances"].append((instance_id, shape.key, shape.version, app_id, INSTANCE[instance_state], data,
                                     received_day, self.day(accepted) if accepted is not None else None, joint_due,
                                     False, False, submitted_at, ended_at))
        rows["applications"].append((app_id, reference, shape.bundle_id, applicant, enterprise_id, CASE[status], data,
                                     f"gen{app_id}", instance_id, submitted_at, ended_at))
        rows["materials"].append((self._take("materials"), app_id, "premises_proof" if enterprise_id else "proof",
                                  "经营场所证明.pdf" if enterprise_id else "居住证明.pdf", "application/pdf",
                                  80_000 + below(1_920_000), hashlib.sha256(b"gen:%d" % app_id).hexdigest(),
                                  f"gen{app_id:020d}", submitted_at))
        events.sort(key=lambda e: e[0])
        event_rows, take = rows["wf_events"], self._take
        for at, actor, kind, node_id, detail, command in events:
            event_id = take("wf_events")
            event_rows.append((event_id, instance_id, at, actor, kind, node_id, detail,
                               f"gen:{event_id}" if command is True else command))
        note_rows, now = rows["notifications"], self.now
        for kind, params, at in notes:
            read_at = at + dt.timedelta(seconds=3600 + below(250_000)) if self.random() < 0.6 else None
            note_rows.append((take("notifications"), applicant, kind, J(params), at,
                              read_at if read_at is None or read_at < now else None))

    def _plan_branches(self, outcome: str, applicable: list, accepted: int) -> list[dict]:
        """For every applicable branch: its state, working days of handling and of a supplement it waited for."""
        rng, random_ = self.rng, self.random
        plans = [{"paused": 1 + self.below(10) if random_() < 0.1 else 0,
                  "handling": min(int(rng.expovariate(1 / 7)) + 1, 45)} for _node in applicable]
        if outcome == "approved":
            for plan in plans:
                plan["state"] = "approved"
        elif outcome == "rejected":
            weights = [4 if node.agency == "market" else 2 if node.agency == "fire" else 1 for node in applicable]
            refused = rng.choices(range(len(applicable)), weights=weights)[0]
            refused_on = accepted + plans[refused]["paused"] + plans[refused]["handling"]
            refused_at = self.moment(refused_on)
            for i, plan in enumerate(plans):
                decided = accepted + plan["paused"] + plan["handling"]
                plan["state"] = "rejected" if i == refused else "approved" if decided < refused_on else "cancelled"
                if plan["state"] == "cancelled":  # cancelled by the refusal: nothing happened on it before
                    plan["paused"], plan["at"] = 0, refused_at
                elif i == refused:
                    plan["at"] = refused_at
        else:
            age = self.t0 - accepted
            for node, plan in zip(applicable, plans, strict=True):
                # The market branch is the slowest to decide: it holds most of the open work (100,000+ tasks).
                decided_share = 0.3 if node.agency == "market" else 0.5
                plan["paused"] = 0
                if age > 0 and random_() < decided_share:
                    plan["state"], plan["handling"] = "approved", 1 + self.below(age)
                else:
                    roll = random_()
                    plan["state"] = "active" if roll < 0.8 else "waiting_applicant" if roll < 0.92 else "paused"
            if all(plan["state"] == "approved" for plan in plans):
                plans[0]["state"] = "active"  # the join would have fired: keep the first branch open
        return plans

    def _branch(self, rows, events, notes, node, plan, instance_id, app_id, reference, accepted,
                accept_at) -> dt.datetime:
        """Rows for one branch, its task and what happened on it; returns the time of its last decision."""
        rng, J, t0, below = self.rng, self.J, self.t0, self.below
        branch_id, task_id = self._take("wf_branches"), self._take("wf_tasks")
        state, paused_days = plan["state"], plan["paused"]
        due = accepted + node.limit_days + paused_days
        started_on, due_on = self.day(accepted), self.day(due)
        clerks = self.clerks[node.agency]
        remaining = paused_on = resume_on = handling = on_time = decided_at = decided_by = None
        opinion, overdue, task_state, outcome, completed_at, completed_by = "", False, "open", None, None, None
        assignee = claimed_at = None
        if paused_days:  # a supplement was asked for and answered earlier
            asked = accepted + below(min(3, plan["handling"]))  # answered before the decision
            asked_at = max(self.moment(asked), accept_at + dt.timedelta(minutes=1))
            answered_at = max(self.moment(asked + paused_days), asked_at + dt.timedelta(hours=1))
            self._supplement(rows, events, notes, node, instance_id, branch_id, task_id, reference, asked_at,
                             answered_at, rng.choice(clerks))
        if state in ("approved", "rejected"):
            decided = accepted + paused_days + plan["handling"]
            decided_at = max(plan.get("at") or self.moment(decided), accept_at + dt.timedelta(minutes=2))
            decided_by = completed_by = rng.choice(clerks)
            handling, on_time = plan["handling"], decided <= due
            opinion = rng.choice(REFUSALS) if state == "rejected" else rng.choice(APPROVAL_OPINIONS)
            task_state, outcome, completed_at = "completed", "approve" if state == "approved" else "reject", decided_at
            events.append([decided_at, decided_by, f"task_{outcome}", node.id,
                           J({"opinion": opinion}, ("opinion", opinion)), True])
            rows["access_records"].append((self._take("access_records"), app_id, decided_by, node.agency, "clerk",
                                           "review", decided_at - dt.timedelta(seconds=120 + below(14_000))))
            if state == "approved":
                self._approved_branches.append((branch_id, node))
        elif state == "cancelled":
            decided_at = max(plan["at"], accept_at + dt.timedelta(minutes=2))
            task_state, completed_at = "cancelled", decided_at
        else:  # running: active, waiting for the applicant, or paused for expert review
            if self.random() < 0.1:
                assignee = rng.choice(clerks)
                claimed_at = max(self.moment(min(accepted + below(3), t0)), accept_at + dt.timedelta(minutes=1))
                rows["access_records"].append((self._take("access_records"), app_id, assignee, node.agency, "clerk",
                                               "review", claimed_at + dt.timedelta(minutes=1)))
            if state == "active":
                overdue = due < t0
                if due - 2 >= t0:
                    rows["wf_timers"].append((self._take("wf_timers"), instance_id, branch_id, TIMER["branch_warning"],
                                              self.day(due - 2), None, None))
                timer_id = self._take("wf_timers")
                fired = self.moment(due + 1, 300) if overdue else None
                rows["wf_timers"].append((timer_id, instance_id, branch_id, TIMER["branch_deadline"],
                                          due_on + dt.timedelta(days=1), fired, None))
                if overdue:
                    events.append([fired, None, "overdue", node.id,
                                   J({"agency": node.agency, "due_on": due_on.isoformat(), "branch_id": branch_id}),
                                   f"timer:{timer_id}"])
                elif self.random() < 0.02:
                    self._extension(rows, events, node, instance_id, branch_id, task_id, rng.choice(clerks),
                                    max(self.moment(t0 - below(3)), accept_at + dt.timedelta(minutes=1)))
            else:
                stopped = min(accepted + below(max(t0 - accepted, 0) + 1), t0)
                stopped_at = max(self.moment(stopped), accept_at + dt.timedelta(minutes=1))
                paused_on, remaining = self.day(stopped), max(due - stopped, 0)
                if state == "waiting_applicant":
                    self._supplement(rows, events, notes, node, instance_id, branch_id, task_id, reference,
                                     stopped_at, None, rng.choice(clerks))
                else:
                    expected = 5 + below(26)
                    resume_on = self.day(stopped + expected)
                    detail = {"reason": rng.choice(PAUSE_REASONS), "expected_days": expected,
                              "resume_expected_on": resume_on.isoformat()}
                    events.append([stopped_at, rng.choice(clerks), "paused", node.id, J(detail), True])
                    notes.append(("paused", {"reference": reference, **detail}, stopped_at))
        rows["wf_branches"].append((branch_id, instance_id, node.id, node.agency, node.matter, BRANCH[state],
                                    started_on, due_on, remaining, paused_on, resume_on, False, overdue, paused_days,
                                    handling, on_time, decided_at, decided_by, opinion))
        rows["wf_tasks"].append((task_id, instance_id, branch_id, node.id, node.agency, node.role, TASK[task_state],
                                 due_on, accept_at, completed_at, completed_by, outcome, assignee, claimed_at))
        return decided_at or accept_at

    def _supplement(self, rows, events, notes, node, instance_id, branch_id, task_id, reference, asked_at,
                    answered_at, clerk) -> None:
        """A one-time supplement notice: open (``answered_at`` None) or answered."""
        J = self.J
        request_id = self._take("wf_requests")
        items = self.rng.sample(SUPPLEMENT_ITEMS, 1 + self.below(3))
        rows["wf_requests"].append((request_id, instance_id, branch_id, task_id, REQUEST_KIND["supplement"],
                                    REQUEST_STATE["open" if answered_at is None else "answered"], J(items), "",
                                    node.agency, clerk, asked_at, None, answered_at))
        events.append([asked_at, clerk, "supplement_requested", node.id,
                       J({"request_id": request_id, "items": items, "note": ""}), True])
        notes.append(("supplement_requested", {"reference": reference, "request_id": request_id, "note": ""},
                      asked_at))
        if answered_at is not None:
            events.append([answered_at, None, "resubmitted", node.id, J({"request_id": request_id}), True])

    def _extension(self, rows, events, node, instance_id, branch_id, task_id, clerk, at) -> None:
        """An extension request waiting for the agency's supervisor."""
        request_id = self._take("wf_requests")
        reason = "需现场核查，申请延长办理期限"
        rows["wf_requests"].append((request_id, instance_id, branch_id, task_id, REQUEST_KIND["extension"],
                                    REQUEST_STATE["open"], self.J([], "no_items"), reason, node.agency, clerk, at, None,
                                    None))
        events.append([at, clerk, "extension_requested", node.id, self.J({"request_id": request_id, "reason": reason}),
                       True])

    def _licences(self, rows, notes, app_id, reference, enterprise_id, applicant, holder_name, holder_identifier,
                  ended_at) -> None:
        """The licences of an approved case (one per approving branch whose matter grants one), placeholders."""
        for branch_id, node in self._approved_branches:
            licence_type_id = self.matters.get(node.matter)
            if licence_type_id is None:
                continue
            agency_code, agency_id, validity = self.licence_types[licence_type_id]
            issued_at = ended_at + dt.timedelta(seconds=5 + self.below(115))
            issued = issued_at.date()
            number = make_licence_number(agency_code.upper(), issued.year,
                                         self.serial(f"licence:{agency_code}:{issued.year}"))
            valid_until = dt.date(issued.year + validity, issued.month, min(issued.day, 28)) if validity else None
            rows["licences"].append((self._take("licences"), number, licence_type_id, agency_id, app_id, branch_id,
                                     None if enterprise_id else applicant, enterprise_id, holder_name,
                                     holder_identifier, LICENCE["valid"], GENERATED_SCOPE, issued_at, issued,
                                     valid_until, self.pdf, self.pdf_sha256))
            notes.append(("licence_issued", {"number": number, "reference": reference}, issued_at))

    # -- the end -----------------------------------------------------------------------------------------------

    def finish(self, vacuum: bool = False) -> None:
        """The queue and branch tallies, then fresh planner statistics (in the caller's connection, so that tests bound
        to one connection work)."""
        from services.applications.tallies import recount

        # The bulk copy runs in replica mode on PostgreSQL, where the tally triggers do not fire.
        with self.database.transaction() as session:
            recount(session)
        if vacuum and self.database.is_postgresql:
            with self.database.engine.connect() as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                for table in (*TABLES, *SERVICE_PAGE_TABLES, "counters"):
                    connection.execute(text(f"VACUUM (ANALYZE) {table}"))
            return
        with self.database.transaction() as session:
            if self.database.is_postgresql:
                for table in (*TABLES, *SERVICE_PAGE_TABLES):
                    session.execute(text(f"ANALYZE {table}"))
            else:
                session.execute(text("ANALYZE"))
