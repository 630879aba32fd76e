"""/case and /cases through the emulator: a case submitted with its photos, read and featured
by the office, the cadre told; its figures in /stats and the export, checked against the rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from common.i18n import translate
from handlers import formregistry
from handlers.forms import Form, Question
from storage import dialogs as dialog_store
from storage.cases import add_case, cases_by_village
from storage.models import AuditEntry, Dialog, ModelCase, Person
from tests.harness import texts
from tests.test_export import by_header, export_as, fetch_workbook, sheet_rows
from tests.test_export import exports as exports  # the fixture, for this module's tests
from tests.test_visits import button

TOO_LONG = "That is {length} characters; the limit is {limit}. Please shorten it."
STALE_EN = "This button no longer works."
TODAY = dt.date(2026, 11, 28)  # the harness's clock: Saturday
LI, WANG, ZHANG, OFFICE, LEADING, ZHAO = (
    "13800138002", "13800138003", "13800138001", "13800138009", "13800138008", "13800138006")


async def _user(harness, phone=LI, language="en", user_id=6401):
    return await harness.register(phone, user_id=user_id, language_code=language)


async def _cadre(harness, language="en"):
    await harness.import_roster()
    return await _user(harness, LI, language)


async def _people(harness) -> dict[str, Person]:
    async with harness.db.read() as session:
        return {p.phone[-11:]: p for p in (await session.execute(select(Person))).scalars()}


async def _cases(harness) -> list[ModelCase]:
    async with harness.db.read() as session:
        return list((await session.execute(select(ModelCase).order_by(ModelCase.id))).scalars())


def _labels(sent) -> list[str]:
    return [label for row in sent.buttons for label, _ in row]


async def _submit(harness, user, *, kind="practice", title="Night school", photos=1):
    """A case, quickly; returns the save's replies."""
    replies = await harness.send(user, "/case")
    replies = await harness.press(user, button(replies, f":{kind}"))
    await harness.send(user, title)
    replies = await harness.send(user, "We ran a night school for farmers.")
    for _ in range(photos):
        replies = await harness.roundtrip(user, user.photo())
    replies = await harness.press(user, button(replies, ":d:3" if photos else ":s:3"))
    return await harness.press(user, button(replies, ":ok"))


async def test_a_good_practice_with_two_photos_is_submitted_in_english(harness):
    user = await _cadre(harness)
    replies = await harness.send(user, "/case")
    assert "model case or a good practice" in replies[0].plain_text
    assert _labels(replies[0]) == ["Model case", "Good practice"]
    replies = await harness.press(user, button(replies, ":practice"))
    assert "short title" in replies[-1].plain_text
    replies = await harness.send(user, "Night school")
    assert "Describe it" in replies[-1].plain_text
    replies = await harness.send(user, "We ran a night school for farmers: 30 came.")
    assert "Send photos of it" in replies[-1].plain_text
    assert _labels(replies[-1]) == ["Done ✔", "Skip"]
    replies = await harness.roundtrip(user, user.photo())
    assert texts(replies) == ["📷 1 of at most 10 photos received. Send another, or tap Done."]
    replies = await harness.roundtrip(user, user.sticker())  # not a photo: the first one stays
    assert texts(replies)[0] == "Please send a photo, or tap Done when you have sent them all."
    assert len(replies) == 1  # one line: the question above still waits
    replies = await harness.send(user, "and one more")
    assert texts(replies)[0] == "Please send a photo, or tap Done when you have sent them all."
    replies = await harness.roundtrip(user, user.photo(content=b"\xff\xd8second"))
    assert texts(replies) == ["📷 2 of at most 10 photos received. Send another, or tap Done."]
    replies = await harness.press(user, button(replies, ":d:3"))
    assert replies[-1].plain_text.splitlines()[1:5] == [
        "Kind: Good practice", "Title: Night school",
        "Text: We ran a night school for farmers: 30 came.", "Photos: 🖼 × 2"]
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1] == (
        "✅ Case #1 reported: Night school (photos: 2). The county office will review it.")
    [case] = await _cases(harness)
    person = (await _people(harness))[LI]
    assert (case.person_id, case.village_id, case.township_id, case.unit_id) == (
        person.id, person.village_id, person.township_id, person.unit_id)
    assert (case.kind, case.title, case.text, case.status, case.day) == (
        "practice", "Night school", "We ran a night school for farmers: 30 came.", "submitted",
        TODAY)
    assert len(set(case.photos)) == 2 and all(f in harness.emu.world.files for f in case.photos)


async def test_a_model_case_without_photos_in_chinese(harness):
    user = await _cadre(harness, language="zh-hans")
    replies = await harness.send(user, "/case")
    assert "这是典型案例还是好做法" in replies[0].plain_text
    replies = await harness.press(user, button(replies, ":model"))
    await harness.send(user, "党员中心户")
    replies = await harness.send(user, "每个村民小组设一名党员中心户，联系群众。")
    assert "请发送相关照片" in replies[-1].plain_text
    assert _labels(replies[-1]) == ["选好了 ✔", "跳过"]
    replies = await harness.press(user, button(replies, ":s:3"))
    assert replies[-1].plain_text.splitlines()[1:5] == [
        "类别：典型案例", "标题：党员中心户", "内容：每个村民小组设一名党员中心户，联系群众。",
        "照片：—"]
    replies = await harness.press(user, button(replies, ":ok"))
    assert texts(replies)[-1] == "✅ 案例 #1 已上报：党员中心户（照片 0 张）。县活动办将审核。"
    [case] = await _cases(harness)
    assert (case.kind, case.photos) == ("model", [])


async def test_an_over_long_title_and_text_are_refused_and_asked_again(harness):
    harness.settings.case_text_max_chars = 40
    user = await _cadre(harness)
    replies = await harness.send(user, "/case")
    await harness.press(user, button(replies, ":model"))
    replies = await harness.send(user, "T" * 61)
    assert texts(replies)[0] == TOO_LONG.format(length=61, limit=60)
    assert len(replies) == 1  # one line: the question above still waits
    replies = await harness.roundtrip(user, user.sticker())
    assert texts(replies) == ["Please answer in text."]  # one line: the title is still asked
    await harness.send(user, "T" * 60)
    replies = await harness.send(user, "x" * 41)
    assert texts(replies)[0] == TOO_LONG.format(length=41, limit=40)
    assert len(replies) == 1  # one line: the question above still waits
    replies = await harness.send(user, "x" * 40)
    assert "Send photos of it" in replies[-1].plain_text
    assert await _cases(harness) == []


async def test_an_over_long_title_in_chinese(harness):
    user = await _cadre(harness, language="zh-hans")
    replies = await harness.send(user, "/case")
    await harness.press(user, button(replies, ":model"))
    replies = await harness.send(user, "好" * 61)
    assert texts(replies)[0] == "内容有 61 个字，超过了 60 字的上限，请精简后再发送。"
    assert len(replies) == 1  # one line: the question above still waits
    replies = await harness.roundtrip(user, user.photo())  # a photo is no title
    assert texts(replies)[0] == "请用文字回答。"


async def test_a_sticker_instead_of_a_photo_in_chinese_keeps_the_photos_so_far(harness):
    user = await _cadre(harness, language="zh-hans")
    replies = await harness.send(user, "/case")
    replies = await harness.press(user, button(replies, ":model"))
    await harness.send(user, "护林队")
    await harness.send(user, "组织护林队巡山。")
    photos = await harness.roundtrip(user, user.photo())
    assert texts(photos) == ["📷 已收到 1 张照片（最多 10 张）。可继续发送，或点“选好了”。"]
    replies = await harness.roundtrip(user, user.sticker())
    assert texts(replies) == ["请发送照片；照片发完后点“选好了”。"]  # the one photo stays
    replies = await harness.press(user, button(photos, ":d:3"))
    assert "照片：🖼 × 1" in replies[-1].plain_text


async def test_back_from_the_photos_keeps_them_and_cancel_saves_nothing(harness):
    await harness.import_roster()
    for phone, language, text_prompt, kept, cancelled in (
            (LI, "en", "Describe it", "📷 1 of at most 10", "Cancelled. Nothing was saved."),
            (WANG, "zh-hans", "请写出具体内容", "📷 已收到 1 张", "已取消，未保存任何内容。")):
        user = await _user(harness, phone, language, user_id=int(phone[-4:]))
        replies = await harness.send(user, "/case")
        await harness.press(user, button(replies, ":model"))
        await harness.send(user, "Title")
        await harness.send(user, "First text")
        await harness.roundtrip(user, user.photo())
        replies = await harness.send(user, "/back")
        assert len(texts(replies)) == 1 and text_prompt in texts(replies)[0]
        replies = await harness.send(user, "Second text")
        assert kept in replies[-1].plain_text  # the photo sent before /back is kept
        replies = await harness.send(user, "/cancel")
        assert texts(replies) == [cancelled]
    assert await _cases(harness) == []
    async with harness.db.read() as session:
        assert (await session.execute(select(Dialog))).first() is None


def album(user, group: str, count: int) -> list[int]:
    """Photos sent as one album: a message (and update) each, with the same media_group_id,
    arriving together as Telegram delivers them."""
    ids = []
    for n in range(count):
        stored = user.emu.world.add_file(b"\xff\xd8album" + bytes([n]), "photo.jpg",
                                         "image/jpeg", "photos")
        ids.append(user._message(photo=stored.as_photo(), media_group_id=group))
    return ids


async def album_roundtrip(harness, user, group: str, count: int):
    """What the bot sent while it handled every photo of the album."""
    before = len(harness.emu.sent_to(user.id))
    for update_id in album(user, group, count):
        await harness.wait_processed(update_id)
    return harness.emu.sent_to(user.id)[before:]


async def to_photos(harness, user, language="en"):
    replies = await harness.send(user, "/case")
    replies = await harness.press(user, button(replies, ":model"))
    await harness.send(user, "夜校" if language == "zh" else "Night school")
    return await harness.send(user, "We ran a night school for farmers.")


async def test_an_album_is_answered_once_and_every_photo_kept_in_english(harness):
    user = await _cadre(harness)
    await to_photos(harness, user)
    replies = await harness.roundtrip(user, user.photo())  # one photo first: answered
    assert texts(replies) == ["📷 1 of at most 10 photos received. Send another, or tap Done."]
    replies = await album_roundtrip(harness, user, "13370001", 4)
    assert texts(replies) == [
        "📷 Receiving your album: 2 of at most 10 photos so far. Tap Done once all of it has "
        "been sent; the next screen shows how many arrived."]
    assert _labels(replies[0]) == ["Done ✔"]
    replies = await album_roundtrip(harness, user, "13370002", 2)  # another album: once more
    assert len(replies) == 1 and "6 of at most 10" in replies[0].plain_text
    replies = await harness.press(user, button(replies, ":d:3"))
    assert "Photos: 🖼 × 7" in replies[-1].plain_text
    await harness.press(user, button(replies, ":ok"))
    [case] = await _cases(harness)
    assert len(set(case.photos)) == 7


async def test_an_album_past_the_limit_fills_it_and_the_rest_is_silent_in_chinese(harness):
    user = await _cadre(harness, language="zh")
    await to_photos(harness, user, language="zh")
    for _ in range(3):
        await harness.roundtrip(user, user.photo())
    replies = await album_roundtrip(harness, user, "13370003", 10)
    assert texts(replies)[0] == (
        "📷 正在接收相册：目前已收到 4 张照片（最多 10 张）。全部发送完成后点“选好了”，"
        "下一屏会显示共收到几张。")
    # The seventh photo of the album is the tenth: the confirm screen, once; then silence.
    assert len(replies) == 2 and "🖼 × 10" in replies[1].plain_text
    await harness.press(user, button(replies, ":ok"))
    [case] = await _cases(harness)
    assert len(case.photos) == 10


async def test_a_required_photos_question_wants_one_before_done_and_stops_at_its_limit(
    harness, monkeypatch,
):
    saved = []

    async def save(turn, data):
        saved.append(data["pics"])
        turn.say("saved")

    form = Form(name="t_pics", title="case.title", save=save,
                questions=(Question("pics", "case.q.photos", "case.label.photos",
                                    kind="photos", max_value=2),))
    monkeypatch.setitem(formregistry.FORMS, form.name, form)
    monkeypatch.setitem(formregistry.FORM_ROLES, form.name, frozenset({"cadre", "team_leader"}))
    user = await _cadre(harness)
    person = (await _people(harness))[LI]
    async with harness.db.write() as session:
        dialog = await dialog_store.open_dialog(
            session, chat_id=user.id, person_id=person.id, form=form.name, step="pics",
            data={}, now=harness.clock.now())
        token = dialog.token
    await harness.send(user, "/back")  # asks the question again, with its buttons
    assert await harness.press(user, f"f:{token}:d:0") == []
    assert harness.emu.callback_answers[-1].get("text") == "Send at least one photo first."
    await harness.roundtrip(user, user.photo())
    replies = await harness.roundtrip(user, user.photo())  # the second is the last allowed
    assert "Photos: 🖼 × 2" in replies[-1].plain_text
    await harness.press(user, button(replies, ":ok"))
    assert len(saved) == 1 and len(saved[0]) == 2


async def _office_and_case(harness, *, cadre_language="zh-hans", office_language="en"):
    """A cadre (李娜) with one case of two photos, and the office, bound."""
    await harness.import_roster()
    cadre = await _user(harness, LI, cadre_language, user_id=6402)
    await _submit(harness, cadre, title="夜校", photos=2)
    office = await _user(harness, OFFICE, office_language, user_id=6409)
    return cadre, office


async def test_the_office_opens_a_case_features_it_and_the_cadre_is_told(harness):
    cadre, office = await _office_and_case(harness)
    replies = await harness.send(office, "/cases")
    assert texts(replies) == ["Model cases waiting (1), newest first:\n"
                              "#1 Good practice · 夜校 — 新村, 李娜, Sat 28 Nov, photos: 2"]
    assert replies[0].buttons == [[("#1 夜校", "mc:v:1")]]
    replies = await harness.press(office, "mc:v:1")
    [case] = await _cases(harness)
    # One album: two photo messages from one sendMediaGroup, the title on the first.
    assert [(s.method, s.text) for s in replies[:2]] == [("sendMediaGroup", "夜校"),
                                                         ("sendMediaGroup", None)]
    assert replies[0].params["media"] == [
        {"type": "photo", "media": case.photos[0], "caption": "夜校"},
        {"type": "photo", "media": case.photos[1]}]
    assert replies[2].plain_text == (
        "#1 Good practice: 夜校\n新村 · 李娜 · Sat 28 Nov · photos: 2 · submitted\n\n"
        "We ran a night school for farmers.")
    assert replies[2].buttons == [[("⭐ Feature for publicity", "mc:f:1"), ("Set aside", "mc:s:1")]]
    before = len(harness.emu.sent_to(cadre.id))
    replies = await harness.press(office, "mc:f:1", message_id=replies[2].message_id)
    assert replies[0].is_edit and "featured for publicity" in replies[0].plain_text
    assert replies[0].buttons == []
    assert texts(replies)[-1] == "⭐ Case #1 featured for publicity: 夜校."
    assert texts(harness.emu.sent_to(cadre.id)[before:]) == [
        "⭐ 您上报的案例 #1“夜校”已被县活动办选送宣传。"]
    [case] = await _cases(harness)
    people = await _people(harness)
    assert (case.status, case.decided_by, case.decided_on) == (
        "featured", people[OFFICE].id, TODAY)
    async with harness.db.read() as session:
        [entry] = (await session.execute(select(AuditEntry).where(
            AuditEntry.entity == "model_case"))).scalars()
    assert (entry.entity_id, entry.actor_id, entry.old_value, entry.new_value) == (
        1, people[OFFICE].id, "submitted", "featured")
    # pressed again (an old copy of the buttons): decided already, nothing changes
    assert await harness.press(office, "mc:s:1") == []
    assert harness.emu.callback_answers[-1]["text"] == (
        "This case was decided already: featured for publicity.")
    replies = await harness.send(office, "/cases")
    assert texts(replies) == ["No model case is waiting to be read."]


async def test_set_aside_in_chinese_tells_nobody_and_forged_buttons_are_refused(harness):
    cadre, office = await _office_and_case(harness, cadre_language="en",
                                           office_language="zh-hans")
    leading = await _user(harness, LEADING, "zh-hans", user_id=6408)
    replies = await harness.send(leading, "/cases")
    assert texts(replies)[0].startswith("待审典型案例（1 件），最新在前：\n#1 好做法 · 夜校 — 新村")
    replies = await harness.press(leading, "mc:v:1")
    assert replies[-1].plain_text.splitlines()[1] == (
        "新村 · 李娜 · 11月28日（周六） · 照片 2 张 · 待审")
    assert replies[-1].buttons == []  # the leading group reads; the office decides
    assert await harness.press(leading, "mc:f:1") == []
    assert harness.emu.callback_answers[-1]["text"] == "这个按钮已失效。"
    assert await harness.press(cadre, "mc:v:1") == []  # a cadre may not open the office's list
    assert harness.emu.callback_answers[-1]["text"] == STALE_EN
    replies = await harness.send(office, "/cases")
    assert await harness.press(office, "mc:v:999") == []
    assert harness.emu.callback_answers[-1]["text"] == "找不到这个案例。"
    assert await harness.press(office, "mc:f:x") == []
    assert harness.emu.callback_answers[-1]["text"] == "这个按钮已失效。"
    before = len(harness.emu.sent_to(cadre.id))
    replies = await harness.press(office, "mc:v:1")
    replies = await harness.press(office, "mc:s:1", message_id=replies[-1].message_id)
    assert texts(replies)[-1] == "案例 #1 暂不采用：夜校。"
    assert "暂不采用" in replies[0].plain_text.splitlines()[1]
    assert harness.emu.sent_to(cadre.id)[before:] == []  # set aside: the cadre is not told
    [case] = await _cases(harness)
    assert (case.status, case.decided_on) == ("set_aside", TODAY)


async def test_the_list_is_newest_first_and_capped(harness):
    await harness.import_roster()
    people = await _people(harness)
    start = harness.clock.now() - dt.timedelta(hours=20)
    async with harness.db.write() as session:
        for n in range(12):
            await add_case(session, person=people[LI if n % 2 else ZHAO], kind="model",
                           title=f"Case {n}", text="…", photos=[], day=TODAY,
                           now=start + dt.timedelta(hours=n))
    office = await _user(harness, OFFICE, "en", user_id=6409)
    [reply] = await harness.send(office, "/cases")
    lines = reply.plain_text.splitlines()
    assert lines[0] == "Model cases waiting (12), newest first:"
    assert [line.split(" · ")[1].split(" — ")[0] for line in lines[1:11]] == [
        f"Case {n}" for n in range(11, 1, -1)]
    assert lines[11] == "… and 2 older ones."
    labels = [label for row in reply.buttons for label, _ in row]
    assert labels[:2] == ["#12 Case 11", "#11 Case 10"] and len(labels) == 10


async def _seed_raw(harness) -> list[ModelCase]:
    """Cases in two townships on several days, some decided; returns every row."""
    people = await _people(harness)
    now = harness.clock.now()
    rows = []
    for phone, day, status, decided in (
            (LI, TODAY, "featured", TODAY), (LI, TODAY - dt.timedelta(days=1), "submitted", None),
            (WANG, TODAY - dt.timedelta(days=8), "featured", TODAY - dt.timedelta(days=2)),
            (WANG, TODAY - dt.timedelta(days=3), "set_aside", TODAY),
            (ZHAO, TODAY - dt.timedelta(days=2), "featured", TODAY - dt.timedelta(days=9)),
            (ZHAO, TODAY - dt.timedelta(days=10), "submitted", None),
            ("13800138005", TODAY - dt.timedelta(days=4), "featured", TODAY)):
        who = people[phone]
        rows.append(ModelCase(person_id=who.id, village_id=who.village_id,
                              township_id=who.township_id, unit_id=who.unit_id, day=day,
                              kind="model", title=f"{who.name} {day}", text="…",
                              photos=["a", "b"][: len(rows) % 3], status=status,
                              created_at=now, decided_on=decided,
                              decided_at=now if decided else None))
    async with harness.db.write() as session:
        session.add_all(rows)
    return rows


def _expected(rows, start, end, villages=None):
    chosen = [r for r in rows if villages is None or r.village_id in villages]
    return (sum(1 for r in chosen if start <= r.day <= end),
            sum(1 for r in chosen if r.status == "featured" and r.decided_on
                and start <= r.decided_on <= end))


async def test_stats_count_cases_submitted_and_featured_as_the_rows_say(harness):
    await harness.import_roster()
    rows = await _seed_raw(harness)
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    office = await _user(harness, OFFICE, "en", user_id=6409)
    [reply] = [r for r in await harness.send(office, "/stats") if r.method == "sendMessage"]
    submitted, featured = _expected(rows, monday, TODAY)
    assert (submitted, featured) == (5, 3)  # the seed is what the test means it to be
    assert (f"Model cases: submitted {submitted}, featured for publicity {featured}"
            in reply.plain_text)
    township = await _user(harness, "13800138007", "zh-hans", user_id=6407)
    [reply] = [r for r in await harness.send(township, "/stats") if r.method == "sendMessage"]
    people = await _people(harness)
    mine = {p.village_id for p in people.values() if p.township_id == people[LI].township_id}
    submitted, featured = _expected(rows, monday, TODAY, mine)
    assert f"典型案例：上报 {submitted} 件，选送宣传 {featured} 件" in reply.plain_text
    async with harness.db.read() as session:
        found = await cases_by_village(session, start=monday - dt.timedelta(days=7), end=TODAY)
    for village in {r.village_id for r in rows}:
        counts = found.get(village)
        expected = _expected(rows, monday - dt.timedelta(days=7), TODAY, {village})
        assert (counts.submitted, counts.featured) == expected


async def test_the_export_has_a_model_cases_sheet_in_the_users_language(harness, exports):
    await harness.import_roster()
    rows = await _seed_raw(harness)
    for language, sheet, headers, kind, status in (
            ("en", "Model cases", ["No.", "Date submitted", "Recorded at", "Cadre", "Unit",
                                   "Township", "Village", "Kind", "Title", "Text", "Photos",
                                   "Status", "Decided by", "Decided at"],
             "Model case", "featured for publicity"),
            ("zh-hans", "典型案例", ["编号", "上报日期", "录入时间", "干部", "单位", "乡镇", "村",
                                   "类别", "标题", "内容", "照片数", "状态", "处理人", "处理时间"],
             "典型案例", "已选送宣传")):
        harness.emu.documents.clear()
        office = await _user(harness, OFFICE, language, user_id=6409)
        await export_as(harness, office, "/export")
        _name, book, _params = await fetch_workbook(harness, office)
        got = by_header(book, sheet)
        monday = TODAY - dt.timedelta(days=TODAY.weekday())
        inside = sorted((r for r in rows if monday <= r.day <= TODAY), key=lambda r: r.day)
        assert list(got[0]) == headers
        assert [r[headers[10]] for r in got] == [len(r.photos) for r in inside]
        assert [r[headers[0]] for r in got] == [r.id for r in inside]
        assert {r[headers[7]] for r in got} == {kind}
        assert [r[headers[11]] for r in got].count(status) == sum(
            1 for r in inside if r.status == "featured")
        summary = dict(row[:2] for row in sheet_rows(book, book.sheetnames[0]) if row and row[0])
        submitted, featured = _expected(rows, monday, TODAY)
        assert (summary[translate(language[:2], "export.summary.cases.submitted")],
                summary[translate(language[:2], "export.summary.cases.featured")]) == (
            submitted, featured)
