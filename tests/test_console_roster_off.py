"""The office deactivates a person from the console's roster, as /roster off does in chat: a
confirm screen saying what it does, the person locked and read again in the saving transaction,
the office re-checked there too, and the person's chat told through the outbox."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, Person
from storage.people import set_authority
from tests.console_kit import console, console_settings, text_of
from tests.scheduling import tick
from tests.test_schedules import bind_everyone

__all__ = ["console"]  # the fixture, used by name


@pytest.fixture
def settings(settings):
    return console_settings(settings)


def _off_links(html: str) -> set[str]:
    return set(re.findall(r'href="/console/office/roster/(\d+)/off"', html))


async def test_the_office_deactivates_a_cadre_from_the_roster_page(harness, console):
    chats = await bind_everyone(harness, language="zh")
    office = await console.sign_in("吴敏")
    lina, wumin = await console.person("李娜"), await console.person("吴敏")
    listing = await office.get("/console/office/roster")
    assert str(lina.id) in _off_links(listing.text)
    assert str(wumin.id) not in _off_links(listing.text)  # nobody deactivates themself here

    confirm = await office.get(f"/console/office/roster/{lina.id}/off")
    shown = text_of(confirm.text)
    assert confirm.status_code == 200
    assert "李娜 · 驻村干部 · 黄金埠镇/新村 · ****8002" in shown
    assert "李娜将立即失去机器人的使用权限" in shown
    async with console.ctx.db.read() as session:  # looking at the confirm screen changes nothing
        assert (await session.get(Person, lina.id)).active

    csrf = await console.csrf(office, "/console/office/roster")
    forged = await office.post(f"/console/office/roster/{lina.id}/off", data={"csrf": "x"})
    assert forged.status_code == 403
    done = await office.post(f"/console/office/roster/{lina.id}/off", data={"csrf": csrf})
    said = text_of(done.text)
    assert done.status_code == 200
    assert "停用结果" in said and "已停用李娜：其使用权限已终止，已报送的记录全部保留。" in said
    async with console.ctx.db.read() as session:
        person = await session.get(Person, lina.id)
        assert not person.active and person.telegram_user_id is None
        audit = (await session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "person", AuditEntry.entity_id == lina.id,
            AuditEntry.action == "deactivate"))).all()
        assert {a.actor_id for a in audit} == {wumin.id}
    assert str(lina.id) not in _off_links(done.text)

    # Her chat hears it from the outbox's sender, in her language, and loses its menu.
    await tick(harness, harness.clock.now() + dt.timedelta(seconds=31))
    told = [s.plain_text for s in harness.emu.sent_to(chats["李娜"]) if s.text]
    assert told and told[-1] == "您在本平台的使用权限已停用。如有疑问，请联系县活动办。"
    assert any(r.method == "deleteMyCommands" for r in harness.emu.requests
               if r.params.get("scope", {}).get("chat_id") == chats["李娜"])

    again = await office.post(f"/console/office/roster/{lina.id}/off", data={"csrf": csrf})
    assert again.status_code == 400
    assert "该人员已被停用或不在花名册中，没有任何改动。" in text_of(again.text)
    yourself = await office.post(f"/console/office/roster/{wumin.id}/off", data={"csrf": csrf})
    assert yourself.status_code == 400 and "不能停用您自己" in text_of(yourself.text)


async def test_only_a_current_office_may_deactivate(harness, console):
    await bind_everyone(harness, language="zh")
    zhangwei = await console.person("张伟")
    leader = await console.sign_in("张伟")
    assert (await leader.get(f"/console/office/roster/{zhangwei.id}/off")).status_code == 403
    office = await console.sign_in("吴敏")
    csrf = await console.csrf(office, "/console/office/roster")
    # Demoted between the confirm screen and the press: refused in the saving transaction.
    async with console.ctx.db.write() as session:
        wumin = await session.get(Person, (await console.person("吴敏")).id)
        set_authority(wumin, now=harness.clock.now(), role="leading_group")
    refused = await office.post(f"/console/office/roster/{zhangwei.id}/off", data={"csrf": csrf})
    assert refused.status_code == 403
    async with console.ctx.db.read() as session:
        assert (await session.get(Person, zhangwei.id)).active
