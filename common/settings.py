"""Settings from the environment and a `.env` file (pydantic-settings)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.calendar import CampaignCalendar, from_dates


def normalise_database_url(url: str) -> str:
    """Give a plain SQLite or PostgreSQL URL the async driver SQLAlchemy needs."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def parse_days(value: str) -> tuple[int, ...]:
    """A comma-separated list of whole days (0 or more), largest first, each once."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise ValueError(f"expected days as whole numbers separated by commas, got {value!r}")
    return tuple(sorted({int(part) for part in parts}, reverse=True))


class Settings(BaseSettings):
    """Everything a deployment sets; every amount, quota and date of the campaign lives here."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = ""
    bot_api_base_url: str = "https://api.telegram.org"
    bot_username: str = ""
    database_url: str = "sqlite+aiosqlite:///grassroots.db"
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh"

    campaign_start: dt.date = dt.date(2026, 11, 25)
    campaign_end: dt.date = dt.date(2027, 2, 17)
    min_days_in_village: int = 5
    # A public holiday is not a missed day: it lowers the days a week asks (storage/calendar.py)
    # unless the county counts holidays as working days.
    holidays_count_as_workdays: bool = False
    # Public holidays the installed chinese-calendar does not know yet (a year whose notice came
    # out after its release), as a JSON list of dates: ["2027-01-01"].
    extra_public_holidays: list[dt.date] = Field(default_factory=list)
    pair_quota_county: int = 3
    pair_quota_department: int = 2
    pair_quota_ordinary: int = 1
    condolence_min_amount: Decimal = Decimal("200.00")
    labour_export_min_per_village: int = 2
    project_min_funds: Decimal = Decimal("30000.00")

    # Publicity topics a cadre picks from (codes; each has a label publicity.topic.<code> in the
    # catalogs, a code without one is shown as it is, so a deployment may list a topic by its
    # Chinese name). "other" is always offered after them. The notice's own topics in today's
    # words (docs/glossary.md, "Terms of a past era"): the codes of earlier defaults
    # (cooperative_medical, rural_pension, plenary_session, family_planning) keep their labels,
    # so records made with them still show a name.
    publicity_topics: list[str] = Field(default_factory=lambda: [
        "plenum_20_4", "medical_insurance", "resident_pension", "farm_subsidies",
        "legal_education"])
    # Winter (year-end) work items each village sets a target for (codes; each has a label
    # winter.item.<code> in the catalogs, a code without one is shown as it is). Items of
    # earlier defaults (family_planning, tax) keep their labels and units for old rows.
    winter_items: list[str] = Field(default_factory=lambda: [
        "water_works", "winter_planting", "winter_construction", "living_environment",
        "afforestation", "fire_prevention", "investment", "medical_care", "pension"])
    # Progress above the target is allowed (more trees planted is good news) up to this share
    # of it; more is taken for a typing mistake.
    winter_progress_max_percent: int = Field(default=300, ge=100)
    # In the county report, a township's items below this share of their target are named.
    winter_lagging_percent: int = Field(default=50, ge=0, le=100)

    # The summary stage (issue 8): when /final opens and when the summaries are due.
    summary_stage_start: dt.date = dt.date(2027, 2, 1)
    summary_stage_deadline: dt.date = dt.date(2027, 2, 17)
    stage_reminder_time: dt.time = dt.time(9, 0)
    # Days before the deadline on which whoever still owes a stage summary or an appraisal is
    # chased (one message, a button per missing form) and the one above told who is missing.
    stage_chase_days: str = "7,3,1"
    # Commendation and criticism (/merit): rows shown, units named, and the thresholds (percent)
    # below which a unit or cadre is criticised: weeks at the minimum days, summaries on time.
    merit_max_rows: int = Field(default=10, ge=1, le=50)
    merit_commend_top: int = Field(default=3, ge=1, le=20)
    merit_min_days_share: int = Field(default=80, ge=0, le=100)
    merit_min_summaries_share: int = Field(default=80, ge=0, le=100)

    text_answer_max_chars: int = 1000
    # A model case's text (/case) is a write-up, longer than other answers; Telegram takes at
    # most 4096 characters in one message.
    case_text_max_chars: int = Field(default=3000, ge=1, le=4096)
    export_dir: str = "exports"  # where /export builds its workbooks until they are sent
    # How long a file in export_dir may stay, whatever became of its message: the sweeper
    # (scheduler/sweep.py) removes older ones, and an export not sent by then has expired.
    export_keep_hours: int = Field(default=24, ge=1)
    # Wrong invite codes (/start CODE) taken in any hour: from one Telegram account, and from
    # everyone together, which bounds guessing from many accounts at once. Sharing the phone
    # number is never limited: Telegram vouches for it.
    invite_wrong_codes_per_hour: int = Field(default=5, ge=1)
    invite_wrong_codes_per_hour_all: int = Field(default=200, ge=1)
    # A draft of a dialog plain cadres cannot open (a broadcast, a deactivation, a spot-check
    # note...) untouched this long is closed unsaved at the person's next update.
    privileged_draft_hours: int = Field(default=24, ge=1)

    webhook_url: str = ""
    webhook_secret: str = ""
    api_token: str = ""
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    # The campaign console (bot/console): the address people open it at, as `grassroots serve`
    # is reached from outside (https for the Mini App inside Telegram; empty: /console says the
    # console is not set up), how long a signed-in browser stays signed in, and how old the
    # Mini App's initData may be when it signs in.
    console_url: str = ""
    console_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    console_init_data_max_age_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    # Map tiles of the console's map page ({z}/{x}/{y}); empty: the map draws the villages'
    # points without a background. Its attribution line is shown under the map.
    console_tile_url: str = ""
    console_tile_attribution: str = ""

    # The campaign's rhythm, in the county's time zone. Weekdays count from Monday = 0.
    checkin_reminder_time: dt.time = dt.time(8, 0)
    attendance_check_time: dt.time = dt.time(21, 0)
    summary_deadline_weekday: int = Field(default=4, ge=0, le=6)
    summary_deadline_time: dt.time = dt.time(17, 0)
    summary_reminder_hours_before: int = Field(default=3, ge=0, le=96)
    digest_time: dt.time = dt.time(20, 0)
    county_report_weekday: int = Field(default=0, ge=0, le=6)
    county_report_time: dt.time = dt.time(8, 0)
    dispute_check_time: dt.time = dt.time(10, 0)
    dispute_overdue_days: dict[str, int] = Field(default_factory=lambda: {"default": 3})
    # Hours a dispute handed to a township may wait untaken (受理) before it climbs to the office.
    escalation_take_hours: int = Field(default=24, ge=1, le=24 * 14)
    # The problem ledger: days each step is given, and when its holders are reminded.
    problem_raised_days: int = Field(default=7, ge=1)
    problem_feedback_days: int = Field(default=3, ge=0)
    problem_checkback_days: int = Field(default=14, ge=1)
    problem_escalate_days: int = Field(default=3, ge=0)
    problem_check_time: dt.time = dt.time(8, 30)
    silent_after_days: int = Field(default=2, ge=1)
    holiday_reminder_days_before: int = Field(default=7, ge=1, le=60)
    holiday_reminder_time: dt.time = dt.time(9, 0)
    scheduler_tick_seconds: float = Field(default=30.0, gt=0)

    outbox_global_per_second: float = Field(default=28.5, gt=0)
    outbox_per_chat_per_second: float = Field(default=1.0, gt=0)
    # How long a process that wrote a reply owns it before the sender may send it instead.
    outbox_claim_seconds: float = Field(default=30.0, gt=0)
    # Telegram's paid broadcasts (up to 1000 a second, 0.1 Star a message from the bot's
    # balance): a broadcast to at least this many goes on that lane when enabled.
    paid_broadcast: bool = False
    paid_broadcast_min_recipients: int = Field(default=1000, ge=1)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("stage_chase_days")
    @classmethod
    def _chase_days(cls, value: str) -> str:
        days = parse_days(value)
        return ",".join(str(day) for day in days)

    def stage_chase_offsets(self) -> tuple[int, ...]:
        """STAGE_CHASE_DAYS: the days before the stage's deadline that chase, largest first."""
        return parse_days(self.stage_chase_days)

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        return "zh" if value.lower().startswith("zh") else "en"

    @cached_property
    def tz(self) -> ZoneInfo:
        """The county's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def calendar(self) -> CampaignCalendar:
        """The campaign's days and the one rule for the days in the village a week asks."""
        return from_dates(self.campaign_start, self.campaign_end, self.min_days_in_village,
                          holidays_count=self.holidays_count_as_workdays,
                          extra=self.extra_public_holidays)

    def overdue_days(self, category: str) -> int:
        """Days without a step after which an open dispute of this category is overdue."""
        days = self.dispute_overdue_days
        return max(1, int(days.get(category, days.get("default", 3))))

    def pair_quota(self, rank: str) -> int:
        """How many households a cadre of this rank is paired with."""
        return {
            "county": self.pair_quota_county,
            "department": self.pair_quota_department,
        }.get(rank, self.pair_quota_ordinary)
