"""The campaign's records as SQLAlchemy 2 models."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(14, 2)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on both backends (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSONType}  # noqa: RUF012


class Township(Base):
    """A township or farm, with its working group."""

    __tablename__ = "townships"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Village(Base):
    """A village; its resident working group is the village team."""

    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("township_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    township: Mapped[Township] = relationship(lazy="joined")


class Unit(Base):
    """A home unit: the county department a cadre comes from."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Person(Base):
    """Someone on the roster, bound to a Telegram account once they register."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    rank: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(24), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    invite_code: Mapped[str] = mapped_column(String(16), unique=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    blocked_at: Mapped[dt.datetime | None]
    menu_hash: Mapped[str | None] = mapped_column(String(16))
    bound_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]
    # When role, township, village or access last changed: drafts opened and buttons sent
    # before it no longer act (issue 15).
    authority_changed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    unit: Mapped[Unit | None] = relationship(lazy="joined")
    township: Mapped[Township | None] = relationship(lazy="joined")
    village: Mapped[Village | None] = relationship(lazy="joined")


class Household(Base):
    """A household of a village, named by a cadre or on a pairing list."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("village_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(24))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime]


class Pairing(Base):
    """A help pair: a cadre and a household they look after."""

    __tablename__ = "pairings"
    __table_args__ = (UniqueConstraint("person_id", "household_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    created_at: Mapped[dt.datetime]


class ProcessedUpdate(Base):
    """A Telegram update already handled: a redelivery changes nothing."""

    __tablename__ = "processed_updates"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[dt.datetime]


class Dialog(Base):
    """A user's open dialog (the durable draft), written with the step it records."""

    __tablename__ = "dialogs"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    form: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    history: Mapped[dict[str, Any]] = mapped_column(default=dict)
    token: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Checkin(Base):
    """One day of one cadre: in the village, or away with a reason."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("person_id", "day"), Index(None, "village_id", "day"),
                      # A week's days in the village per cadre, from the index alone.
                      Index("ix_checkins_day_person", "day", "person_id", "in_village"),
                      # The console's map: the latest check-ins with a shared location.
                      Index("ix_checkins_located_day", "day",
                            sqlite_where=text("latitude IS NOT NULL"),
                            postgresql_where=text("latitude IS NOT NULL")))
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    in_village: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(24))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Visit(Base):
    """One of the "eight visits", feeding the people's-feelings diary."""

    __tablename__ = "visits"
    __table_args__ = (Index(None, "village_id", "day"), Index(None, "person_id", "day"),
                      # A period's visits by kind and category, from the index alone.
                      Index("ix_visits_day_kind", "day", "kind", "household_category"),
                      # The console's map: the latest visits with a shared location.
                      Index("ix_visits_located_day", "day",
                            sqlite_where=text("latitude IS NOT NULL"),
                            postgresql_where=text("latitude IS NOT NULL")))
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    household_category: Mapped[str | None] = mapped_column(String(24))
    heard: Mapped[str] = mapped_column(Text)
    wants: Mapped[str] = mapped_column(Text)
    followup: Mapped[bool] = mapped_column(Boolean, default=False)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    created_at: Mapped[dt.datetime]


class Problem(Base):
    """A problem in a village's ledger: raised → in hand → solved → feedback → checked back."""

    __tablename__ = "problems"
    # Problems raised, and solved, in a period.
    __table_args__ = (Index("ix_problems_created_at", "created_at"),
                      Index("ix_problems_status_updated_at", "status", "updated_at"),
                      Index("ix_problems_next_due_on", "next_due_on"),
                      Index("ix_problems_visit_id", "visit_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    category: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="raised")
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 1 high, 2 normal, 3 low
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]  # the last step
    # The problem ledger's lifecycle (migration 0006): what is being done, by whom, by when;
    # next_due_on is the day the next step falls due (None: nothing is due, or checked back).
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    measures: Mapped[str | None] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(200))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    feedback_on: Mapped[dt.date | None] = mapped_column(Date)
    next_due_on: Mapped[dt.date | None] = mapped_column(Date)
    escalated_on: Mapped[dt.date | None] = mapped_column(Date)  # team leader told, this step


class Dispute(Base):
    """A dispute or petition, with its lifecycle in DisputeStep rows."""

    __tablename__ = "disputes"
    __table_args__ = (Index(None, "status", "last_step_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    category: Mapped[str] = mapped_column(String(24))
    parties: Mapped[str] = mapped_column(Text)
    people_count: Mapped[int] = mapped_column(Integer)
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="reported")
    level: Mapped[str] = mapped_column(String(16), default="village")
    verdict: Mapped[str | None] = mapped_column(String(16))
    # How far the overdue reminders have climbed since the last step (0: none sent; 1 the
    # cadre, 2 the team leader, 3 the township leader, 4 the office).
    escalation_stage: Mapped[int] = mapped_column(Integer, default=0)
    opened_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime]
    last_step_at: Mapped[dt.datetime]
    # A hand-over waiting for the level above to take it (受理) or send it back (退回):
    # 'township' (its township leaders) or 'county' (the office); None when none waits.
    handover_level: Mapped[str | None] = mapped_column(String(16))
    handed_at: Mapped[dt.datetime | None]  # when it reached that level: the climb's clock
    taken_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    taken_at: Mapped[dt.datetime | None]


class DisputeStep(Base):
    """One dated step of a dispute: who moved it where, and why."""

    __tablename__ = "dispute_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime]


class Aid(Base):
    """Help given: a condolence visit, a unit donation, labour export or a project."""

    __tablename__ = "aid"
    __table_args__ = (Index(None, "village_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[dt.date] = mapped_column(Date)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    holiday: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    items: Mapped[str | None] = mapped_column(Text)
    people_count: Mapped[int | None] = mapped_column(Integer)
    destination: Mapped[str | None] = mapped_column(String(200))
    project_name: Mapped[str | None] = mapped_column(String(200))
    project_type: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]


class Publicity(Base):
    """A publicity session: a meeting or door-to-door preaching on the policies, with the
    slogans posted and boards set up for it."""

    __tablename__ = "publicity"
    __table_args__ = (Index(None, "village_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    attendance: Mapped[int] = mapped_column(Integer)
    topics: Mapped[list[str]] = mapped_column(JSONType, default=list)  # topic codes
    other_topic: Mapped[str | None] = mapped_column(String(200))
    slogans: Mapped[int] = mapped_column(Integer, default=0)
    boards: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]


class Summary(Base):
    """A cadre's weekly summary; correctable until the team leader accepts it."""

    __tablename__ = "summaries"
    __table_args__ = (UniqueConstraint("person_id", "week_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    week_start: Mapped[dt.date] = mapped_column(Date)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    achievements: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    short_reason: Mapped[str | None] = mapped_column(Text)
    # The cadre's explanation beside the figures, which are computed from the records.
    figures_note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    submitted_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    returned_at: Mapped[dt.datetime | None]
    returned_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)


class LeaveRequest(Base):
    """A person's leave from `first_day` to `last_day`: pending until the one above approves or
    declines it; only approved leave excuses days in the village."""

    __tablename__ = "leave_requests"
    __table_args__ = (Index("ix_leave_requests_person_id_first_day", "person_id", "first_day"),
                      Index("ix_leave_requests_status", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class AuditEntry(Base):
    """Who changed what and when: corrections, status changes, roster changes, broadcasts."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message to send; every outgoing message passes through here."""

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    method: Mapped[str] = mapped_column(String(32), default="sendMessage")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(24), default="reply")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    broadcast_id: Mapped[int | None] = mapped_column(Integer, index=True)


class SendBudget(Base):
    """One bot's sends in the last second, shared by every process sending for it
    (PostgreSQL; storage.sendbudget). Times are the database's clock, in epoch seconds."""

    __tablename__ = "send_budget"
    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sent: Mapped[list[float]] = mapped_column(JSONType, default=list)
    # Until when a reply is known to wait: scheduled sends and broadcasts leave it room.
    reply_until: Mapped[float] = mapped_column(Float, default=0.0)
    # The processes that sent lately, each with when it last asked: a database outage
    # leaves each its share of the rate (common.sharedbudget).
    holders: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The last process that sent alone on its own limiter, and until when: its sends are
    # counted nowhere here, so others wait a while after (storage.sendbudget).
    lease_holder: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class SendPacing(Base):
    """A chat's bucket of sends (about one a second after a burst), shared by every process
    sending for the bot; rows of chats idle for a while are removed."""

    __tablename__ = "send_pacing"
    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tokens: Mapped[float] = mapped_column(Float)
    at: Mapped[float] = mapped_column(Float, index=True)


class Broadcast(Base):
    """A notice the office sent to an audience; its messages are outbox rows with its id."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    text: Mapped[str] = mapped_column(Text)
    audience_kind: Mapped[str] = mapped_column(String(16))
    audience_value: Mapped[str | None] = mapped_column(String(300))
    recipients: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    # Set once the author has been sent the delivery report.
    reported_at: Mapped[dt.datetime | None]


class SpotCheck(Base):
    """A record drawn by the office for a leader above its cadre to verify."""

    __tablename__ = "spot_checks"
    __table_args__ = (UniqueConstraint("record_kind", "record_id"),
                      Index(None, "assigned_to", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    drawn_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    record_kind: Mapped[str] = mapped_column(String(8))  # "visit" or "aid"
    record_id: Mapped[int] = mapped_column(Integer)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    note: Mapped[str | None] = mapped_column(Text)
    drawn_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]


class Appraisal(Base):
    """A team leader's appraisal of one member at the summary stage."""

    __tablename__ = "appraisals"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    grade: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    # The township leader endorses (accepted) or returns it; a new appraisal waits again.
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    accepted_at: Mapped[dt.datetime | None]
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    returned_at: Mapped[dt.datetime | None]
    returned_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)


class ScheduleState(Base):
    """A schedule's next due time: the database decides what is due and who owns it."""

    __tablename__ = "schedules"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[dt.datetime]
    last_run_at: Mapped[dt.datetime | None]


# --- /stats speed (issue 6; migration 0010) ---
# Covering indexes for what a week's /stats reads: the ledger's problems by status (every
# problem, whatever the period), disputes opened in the period, the county's help in it
# (with what its totals add up: migration 0026).
Index("ix_problems_status_next_due_on", Problem.status, Problem.next_due_on)
Index("ix_disputes_opened_on", Dispute.opened_on, Dispute.category, Dispute.status)
Index("ix_disputes_handover_level_handed_at", Dispute.handover_level, Dispute.handed_at)
Index("ix_aid_day_kind", Aid.day, Aid.kind, Aid.amount, Aid.people_count)
# Help targets (migration 0026): which villages miss which, one grouped query reading each
# village's help by kind (labour, projects' funds, each home unit's donations) and each paired
# household's condolences from these two indexes alone.
Index("ix_aid_village_kind", Aid.village_id, Aid.kind, Aid.unit_id, Aid.amount,
      Aid.people_count)
Index("ix_aid_household_kind", Aid.household_id, Aid.kind, Aid.holiday)
# The reviews of a period's weekly summaries by status (the console's overview; migration
# 0027), read from the index alone; it serves every read of a week's summaries as the index
# on week_start alone did.
Index("ix_summaries_week_status", Summary.week_start, Summary.status, Summary.township_id,
      Summary.village_id)


# --- Problem ledger (issue 8; migration 0006) ---


class ProblemStep(Base):
    """One dated step of a problem in the ledger: who moved it where, with what."""

    __tablename__ = "problem_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(16))  # raise, take, solve, feedback, check
    status: Mapped[str] = mapped_column(String(16))  # the status reached
    note: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[str | None] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(200))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    held: Mapped[bool | None] = mapped_column(Boolean)  # a check back: did the solution hold
    # Written feedback: to whom (household, village_committee, township, leading_group).
    addressee: Mapped[str | None] = mapped_column(String(24))
    day: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime]


# --- Village rectification and winter work (issue 8; migration 0007) ---


class VillageMark(Base):
    """A village the office marked as one or more of the "three types" for rectification.

    Unmarking keeps the row (active False) so its measures and rules stay attached; every
    change is in the audit log."""

    __tablename__ = "village_marks"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), unique=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"), index=True)
    weak_team: Mapped[bool] = mapped_column(Boolean, default=False)
    disputes: Mapped[bool] = mapped_column(Boolean, default=False)
    weak_management: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    marked_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class RectifyAction(Base):
    """A marked village team's step: a measure taken, or a rule of one of four kinds."""

    __tablename__ = "rectify_actions"
    __table_args__ = (Index(None, "village_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(16))  # measure, village_rules, finance, ...
    text: Mapped[str] = mapped_column(Text)
    day: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime]


class WinterItem(Base):
    """One year-end work item of a village: its target and the progress so far."""

    __tablename__ = "winter_items"
    __table_args__ = (UniqueConstraint("village_id", "item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"), index=True)
    item: Mapped[str] = mapped_column(String(32))
    target: Mapped[int] = mapped_column(BigInteger)
    progress: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    updated_at: Mapped[dt.datetime]


class WinterUpdate(Base):
    """The history of a winter item: who set which target and progress, when."""

    __tablename__ = "winter_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("winter_items.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    target: Mapped[int] = mapped_column(BigInteger)
    progress: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime]


# --- Model cases (issue 8; migration 0008) ---


class ModelCase(Base):
    """A model case or good practice a cadre reports; the office features some for publicity
    (status submitted -> featured or set_aside, with who decided and when)."""

    __tablename__ = "model_cases"
    __table_args__ = (Index(None, "village_id", "day"), Index(None, "status", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    day: Mapped[dt.date] = mapped_column(Date, index=True)  # local day it was submitted
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    photos: Mapped[list[str]] = mapped_column(JSONType, default=list)  # Telegram file_ids
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    created_at: Mapped[dt.datetime]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[dt.datetime | None]
    decided_on: Mapped[dt.date | None] = mapped_column(Date, index=True)  # local day of it


# --- Summary stage (issue 8; migration 0009) ---


class StageSummary(Base):
    """A summary of the whole campaign: a cadre's personal one, a team's, or a township's.

    One per author and kind; its figures are drafted from the records; correctable until the
    one above accepts it (team leader: personal; township leader: team, and team leaders'
    personal; office: township)."""

    __tablename__ = "stage_summaries"
    __table_args__ = (UniqueConstraint("person_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(16))  # personal | team | township
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    achievements: Mapped[str] = mapped_column(Text, default="")
    experience: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[str] = mapped_column(Text, default="")
    suggestions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    submitted_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    returned_at: Mapped[dt.datetime | None]
    returned_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)


# --- /stats rollups (issue 6; migration 0011) ---


class VisitTally(Base):
    """Visits of one day and township by kind and household category, kept in the
    transaction that records each visit (storage.rollups), so /stats reads ~200 rows a day
    instead of every visit.

    township_id 0: the visit has no township; has_village False: no village (a township
    scope's figures leave such visits out, as the raw query does); household_category "":
    none."""

    __tablename__ = "visit_tallies"
    __table_args__ = ({"sqlite_with_rowid": False},)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    township_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    has_village: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    household_category: Mapped[str] = mapped_column(String(24), primary_key=True)
    visits: Mapped[int] = mapped_column(Integer)


class CheckinWeek(Base):
    """A cadre's check-ins of one Monday week as two 7-bit masks (bit d: Monday + d days):
    the days checked in, and the days in the village, and how many of each; and whether the
    week's summary is in. Kept in the transaction that records each check-in or summary
    (storage.rollups); any period's check-ins, days in the village, weekly compliance and
    summaries per cadre are read from these, one row per cadre and week."""

    __tablename__ = "checkin_weeks"
    # A township's or village's cadres' weeks, from their people: covering, so that the
    # county's reads (by week, the primary key) cost the same whichever SQLite picks.
    __table_args__ = (Index("ix_checkin_weeks_person_id", "person_id", "week_start", "checked",
                            "inside", "checkins", "days", "summary"),
                      {"sqlite_with_rowid": False})
    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    checked: Mapped[int] = mapped_column(Integer)
    inside: Mapped[int] = mapped_column(Integer)
    # The masks' bits counted: a whole week's figures without decoding the masks.
    checkins: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    summary: Mapped[bool] = mapped_column(Boolean)  # the week's summary is in (any status)


class ProblemTally(Base):
    """Problems of the ledger per village, township and status as they stand now, kept with
    each problem's step (storage.rollups): /stats and the export count the ledger from ~3,000
    rows, not every problem. village_id / township_id 0: the problem has none."""

    __tablename__ = "problem_tallies"
    __table_args__ = ({"sqlite_with_rowid": False},)
    village_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    problems: Mapped[int] = mapped_column(Integer)


class VisitWeek(Base):
    """The county's visits of one Monday week by kind and household category ("": none), kept
    with each visit (storage.rollups): a county's period reads its whole weeks here, ~40 rows
    a week instead of VisitTally's ~1,500. (A township reads VisitTally: its own rows.)"""

    __tablename__ = "visit_weeks"
    __table_args__ = ({"sqlite_with_rowid": False},)
    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    household_category: Mapped[str] = mapped_column(String(24), primary_key=True)
    visits: Mapped[int] = mapped_column(Integer)


class DisputeWeek(Base):
    """The county's disputes opened in one Monday week (their opened_on) by category and status
    as it stands now (storage.rollups): a county's period reads its whole weeks here."""

    __tablename__ = "dispute_weeks"
    __table_args__ = ({"sqlite_with_rowid": False},)
    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(24), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    disputes: Mapped[int] = mapped_column(Integer)


class ProblemDay(Base):
    """The county's problems per UTC day (storage.rollups), twice: raised that day (`what`
    "raised": created_at's day, `status` "") and last stepped that day in their current status
    (`what` "step": updated_at's day). A county's problems raised and solved in a period are
    its whole UTC days from here and the hours at either end from the problems' indexes, so
    that no time zone is needed to keep them."""

    __tablename__ = "problem_days"
    __table_args__ = ({"sqlite_with_rowid": False},)
    what: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    problems: Mapped[int] = mapped_column(Integer)


# A township's problems raised (created_at) and solved (status, updated_at) in a period, and
# its open disputes, read from the township's own entries (migration 0011): /stats for a
# township read every problem or open dispute of the county and filtered them.
Index("ix_problems_township_created", Problem.township_id, Problem.created_at)
Index("ix_problems_township_status", Problem.township_id, Problem.status, Problem.updated_at)
Index("ix_disputes_township_status", Dispute.township_id, Dispute.status, Dispute.last_step_at)
# The console's Records (migration 0024): a cadre's problems and a township's visits newest
# first, and one record's entries in the audit trail.
Index("ix_problems_person_created", Problem.person_id, Problem.created_at)
Index("ix_visits_township_day", Visit.township_id, Visit.day)
Index("ix_audit_log_entity", AuditEntry.entity, AuditEntry.entity_id)


class InviteAttempt(Base):
    """A wrong invite code sent with /start: counted per Telegram account and per hour in all,
    so codes cannot be guessed (issue 15)."""

    __tablename__ = "invite_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(index=True)


class PlaceQuestion(Base):
    """A command that named a village several townships have, kept while its sender is asked
    which one: the buttons carry only this row's id and the village, never the command."""

    __tablename__ = "place_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    command: Mapped[str] = mapped_column(String(32))
    args: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]


# An account's wrong codes of the last hour, newest first.
Index("ix_invite_attempts_user_at", InviteAttempt.telegram_user_id, InviteAttempt.at)


class SessionAbsence(Base):
    """A cadre of the village team marked absent from a mobilisation meeting (a publicity
    session of that kind) by the team leader who recorded it (issue 19)."""

    __tablename__ = "session_absences"
    __table_args__ = (UniqueConstraint("publicity_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    publicity_id: Mapped[int] = mapped_column(ForeignKey("publicity.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    marked_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime]
# --- Supervision (issue 19; migration 0020) ---


class Inspection(Base):
    """A supervisor's inspection or unannounced visit of a village: the day, what was found,
    and (InspectionCadre) who of the village team was there."""

    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_village_id_day", "village_id", "day"),
                      Index("ix_inspections_day", "day"))
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "inspection" or "unannounced"
    day: Mapped[dt.date] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]


class InspectionCadre(Base):
    """A member of the village team on the day of an inspection: found present or not. Every
    member placed in the village when it was saved has a row, so an absence stays counted
    whatever the roster does later."""

    __tablename__ = "inspection_cadres"
    __table_args__ = (Index("ix_inspection_cadres_person_id", "person_id"),)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    present: Mapped[bool] = mapped_column(Boolean)


class TrainingSession(Base):
    """A training of cadres held by the county office (no township: the whole county) or a
    township, on a day, on a topic; (TrainingAbsence) who of its scope missed it."""

    __tablename__ = "training_sessions"
    __table_args__ = (Index("ix_training_sessions_day", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))  # who recorded it
    created_at: Mapped[dt.datetime]


class TrainingAbsence(Base):
    """A cadre or team leader recorded absent from a training."""

    __tablename__ = "training_absences"
    __table_args__ = (Index("ix_training_absences_person_id", "person_id"),)
    training_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"),
                                             primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)


class ConsoleLink(Base):
    """A one-time sign-in link to the campaign console (/console): a random token, kept only
    as its SHA-256, bound to one person, good once and for a few minutes."""

    __tablename__ = "console_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class ConsoleSession(Base):
    """A signed-in browser of the console: the cookie's token (kept as its SHA-256), whose it
    is, the token its forms must send back (CSRF), and until when it holds."""

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(8))  # "webapp" (inside Telegram) or "link"
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
