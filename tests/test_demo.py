"""`grassroots demo --lang zh|en`: the whole tour runs in one language, every role takes part,
and its files land in the demo's folder. The Chinese transcript is read by the rules a Chinese
reader applies (the same as /work/shared/tools/zh-lint applies to the catalogs): no English
word, no ISO date, no half-width punctuation beside Chinese. Both tours run once for the module,
in a subprocess as a user runs them (about 6 s each), and once for the whole run when several
processes share the tests."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parent.parent
CJK = "\u3400-\u9fff\uf900-\ufaff"
# zh-lint's rules, applied to what the demo prints rather than to the catalogs.
LATIN = re.compile(r"[A-Za-z]{3,}")
ALLOWED_LATIN = {"Telegram", "XLSX", "Excel", "WPS", "xlsx", "png", "Ctrl"}  # Ctrl: a key's label
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
HALFWIDTH = re.compile(rf"[{CJK}][,:;?!()]|[,;?!(][{CJK}]")
# Set aside as zh-lint does: commands with their arguments as typed (an invite code), the
# emulator's address, and the shell command the narration shows.
SET_ASIDE = re.compile(r"/[a-z_]+(?: [A-Z0-9]{6,})?|https?://\S+|^\$ .*$|\S+\.(?:xlsx|png|db)\b")


@pytest.fixture(scope="module")
def demo(tmp_path_factory, worker_id):
    """Both tours, for each language its transcript and its folder: run once for the module,
    and once for the whole run under `-n 2`, where each process may get some of the module's
    tests: the first process to get here runs them, the other waits for them and reads them."""
    if worker_id == "master":  # one process
        return _tours(tmp_path_factory.mktemp("demo"))
    shared = tmp_path_factory.getbasetemp().parent / "demo"  # the run's, beside each worker's
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "transcripts.json").exists():
            shutil.rmtree(shared, ignore_errors=True)  # a try that failed: again, to fail alike
            shared.mkdir()
            return _tours(shared)
    transcripts = json.loads((shared / "transcripts.json").read_text(encoding="utf-8"))
    return {lang: (transcript, shared / lang / "out") for lang, transcript in transcripts.items()}


def _tours(folder: Path) -> dict[str, tuple[str, Path]]:
    """Run both tours in `folder`, side by side; their transcripts are also kept there, in
    transcripts.json."""
    started = {}
    for lang in ("zh", "en"):
        (folder / lang).mkdir()
        started[lang] = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "demo", "--lang", lang, "--out", "out"],
            cwd=folder / lang, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL)  # not at a terminal: the console is not served
    runs = {}
    try:
        for lang, tour in started.items():
            stdout, stderr = tour.communicate(timeout=180)
            assert tour.returncode == 0, stdout[-3000:] + stderr[-3000:]
            runs[lang] = (stdout, folder / lang / "out")
    finally:  # a tour that failed or hung: the other is not left running
        for tour in started.values():
            if tour.poll() is None:
                tour.kill()
                tour.wait()
    (folder / "transcripts.json").write_text(
        json.dumps({lang: transcript for lang, (transcript, _) in runs.items()}),
        encoding="utf-8")
    return runs


def _exchanges(transcript: str) -> list[tuple[str, str, list[str]]]:
    """(speaker, what they said or did, the lines that answered) for each 👤 line."""
    found: list[tuple[str, str, list[str]]] = []
    for line in transcript.splitlines():
        if line.startswith("👤 "):
            who, _, said = re.split(r"(：|: )", line[2:], maxsplit=1)
            found.append((who, said, []))
        elif found and line.startswith("   ") and line.strip():
            found[-1][2].append(line.strip())
    return found


def _answer_to(transcript: str, who: str, said: str) -> list[str]:
    for speaker, words, answer in _exchanges(transcript):
        if speaker == who and words == said:
            return answer
    raise AssertionError(f"{who} never said {said!r}")


def test_the_chinese_tour_has_no_english_word_iso_date_or_halfwidth_punctuation(demo):
    transcript, out = demo["zh"]
    problems = []
    for number, line in enumerate(transcript.splitlines(), 1):
        text = SET_ASIDE.sub("□", line.replace(f"“{out.name}”", "□"))
        words = [w for w in LATIN.findall(text) if w not in ALLOWED_LATIN]
        for rule, hits in (("english", words), ("iso-date", ISO_DATE.findall(line)),
                           ("halfwidth", HALFWIDTH.findall(text))):
            if hits:
                problems.append(f"{number}: {rule} {hits}: {line.strip()}")
    assert not problems, "\n".join(problems)


def test_every_role_speaks_and_is_answered_in_its_language(demo):
    for lang, people in (("zh", ["李娜（驻村干部）", "张伟（队长）", "孙丽（乡镇工作组组长）",
                                 "吴敏（县活动办）"]),
                         ("en", ["Li Na (cadre)", "Zhang Wei (team leader)",
                                 "Sun Li (township leader)", "Wu Min (office)"])):
        transcript, _ = demo[lang]
        answered = {who for who, _said, answer in _exchanges(transcript) if answer}
        assert set(people) <= answered, (lang, answered)
    assert "您好，孙丽" in demo["zh"][0] and "Hello, 孙丽" in demo["en"][0]
    assert "== 驻村干部的一周" in demo["zh"][0] and "== A cadre's week" in demo["en"][0]


def test_a_visit_dated_yesterday_is_read_as_yesterday(demo):
    transcript, _ = demo["zh"]  # typed on Tuesday 1 December
    answer = _answer_to(transcript, "李娜（驻村干部）", "昨天")
    assert "🤖 走访日期：昨天 · 11月30日（周一）" in answer, answer
    assert "🤖 ✅ 已记录走访：访弱势群体（问困难），11月30日（周一）。" in [
        line for said, answers in [(s, a) for w, s, a in _exchanges(transcript)
                                   if w == "李娜（驻村干部）"] if said == "[✅ 提交]"
        for line in answers]


def test_a_problems_deadline_typed_as_next_friday_is_the_coming_friday(demo):
    transcript, _ = demo["zh"]
    answer = _answer_to(transcript, "李娜（驻村干部）", "下周五")  # typed on Friday 4 December
    assert any(line.startswith("🤖 完成时限：12月11日（周五）") for line in answer), answer


def test_a_count_the_bot_cannot_read_is_answered_in_one_line(demo):
    transcript, _ = demo["zh"]
    assert _answer_to(transcript, "李娜（驻村干部）", "好多人") == [
        "🤖 请填写确切的数字，如“30”；“三十多”“十几”这样的约数无法统计。"]


def test_an_old_button_gets_a_short_notice_and_nothing_else(demo):
    transcript, _ = demo["zh"]
    [answer] = [a for who, said, a in _exchanges(transcript) if said.startswith("［再次点了")]
    assert len(answer) == 1 and answer[0].startswith("💬 "), answer


def test_leaders_and_the_office_ask_for_last_week_in_words(demo):
    transcript, _ = demo["zh"]
    for who in ("张伟（队长）", "吴敏（县活动办）"):
        answer = _answer_to(transcript, who, "/stats 上周")
        assert any("11月30日—12月6日" in line for line in answer), answer
    assert _answer_to(transcript, "孙丽（乡镇工作组组长）", "/laggards 上周")
    assert _answer_to(transcript, "吴敏（县活动办）", "/export 上周")


def test_the_roster_export_and_charts_are_written_to_the_demos_folder(demo):
    for lang, roster in (("zh", "花名册.xlsx"), ("en", "roster.xlsx")):
        transcript, out = demo[lang]
        files = {path.name for path in out.iterdir()}
        assert roster in files and "grassroots-demo.db" in files
        exports = [name for name in files if name.endswith(".xlsx") and name != roster]
        charts = [name for name in files if name.endswith(".png")]
        assert len(exports) == 1 and charts, files
        for name in [roster, *exports, *charts]:
            assert f"{out.name}/{name}" in transcript or f"{out}/{name}" in transcript, name
        assert (out / charts[0]).read_bytes().startswith(b"\x89PNG")
    headers = next(load_workbook(demo["zh"][1] / "花名册.xlsx").active.iter_rows(values_only=True))
    assert headers == ("姓名", "手机号", "职级", "派出单位", "乡镇", "村", "角色")


def test_the_chinese_export_speaks_chinese_in_its_name_sheets_and_headers(demo):
    _, out = demo["zh"]
    [export] = [p for p in out.glob("*.xlsx") if p.name != "花名册.xlsx"]
    assert re.search(f"[{CJK}]", export.name) and not ISO_DATE.search(export.name), export.name
    book = load_workbook(export, read_only=True)
    for sheet in book.worksheets:
        assert re.search(f"[{CJK}]", sheet.title), sheet.title
        header = next(sheet.iter_rows(values_only=True), ())
        assert all(not LATIN.search(str(cell)) for cell in header if cell), (sheet.title, header)


async def test_the_demo_ends_with_a_console_link_for_the_office_that_logs_in(demo):
    import datetime as dt

    import httpx
    from sqlalchemy import select

    from bot.console import standalone
    from common.clock import FrozenClock
    from common.context import AppContext
    from common.settings import Settings
    from storage.db import Database
    from storage.models import ConsoleLink, Person

    transcript, folder = demo["zh"]
    assert "驻村工作台" in transcript.split("\n\n")[-1]
    link = re.search(r"(http://127\.0\.0\.1:8080)(/console/signin\?token=\S+)", transcript)
    assert link, transcript[-1500:]
    url = f"sqlite+aiosqlite:///{folder / 'grassroots-demo.db'}"
    db = Database(url)
    try:
        async with db.read() as session:
            made = (await session.scalars(select(ConsoleLink))).one().created_at
            office = (await session.scalars(select(Person).where(
                Person.role == "office", Person.telegram_user_id.is_not(None)))).first()
            assert office is not None and office.name in transcript.split("\n\n")[-1]
        ctx = AppContext(settings=Settings(_env_file=None, database_url=url), db=db,
                         clock=FrozenClock(made + dt.timedelta(minutes=1)))
        transport = httpx.ASGITransport(app=standalone(ctx))
        async with httpx.AsyncClient(transport=transport, base_url=link.group(1)) as browser:
            token = link.group(2).split("token=")[1]
            assert (await browser.post("/console/signin", data={"token": token})).status_code \
                == 303
            home = await browser.get("/console/")
            assert home.status_code == 200 and office.name in home.text
            # the console opens on the week the tour told, not an empty Monday morning
            visits = re.search(r'id="fig-visits">(\d+)<', home.text)
            assert visits and int(visits.group(1)) > 0, home.text[:3000]
    finally:
        await db.dispose()
