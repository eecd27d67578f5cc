"""The intake's hook and secret caches: one reload at a time, refreshed before they expire."""

from __future__ import annotations

import asyncio
import time

from apiclient import Api
from test_webhook_support import count_rows, github_zap, hub_of, signed

from hub.intake import intake_of


def _count_loads(intake: object, name: str) -> list[int]:
    calls = [0]
    original = getattr(intake, name)

    async def counted(*args: object) -> object:
        calls[0] += 1
        await asyncio.sleep(0.01)  # a slow database: requests pile up behind the reload
        return await original(*args)

    setattr(intake, name, counted)
    return calls


def _age(intake: object, seconds: float) -> None:
    for hook in intake._hooks.values():  # type: ignore[attr-defined]
        hook.loaded -= seconds
    intake._secrets = {k: (v, at - seconds)  # type: ignore[attr-defined]
                       for k, (v, at) in intake._secrets.items()}  # type: ignore[attr-defined]


async def test_expired_entries_are_reloaded_once_for_concurrent_requests(api: Api) -> None:
    zap_id, path = await github_zap(api)
    assert (await api.client.post(path, **signed({}, delivery="warm"))).status_code == 202
    intake = intake_of(hub_of(api))
    hooks, secrets = _count_loads(intake, "_load"), _count_loads(intake, "_load_secrets")
    _age(intake, intake.ttl + 1)
    answers = await asyncio.gather(*[
        api.client.post(path, **signed({"n": n}, delivery=f"d-{n}")) for n in range(20)])
    assert [a.status_code for a in answers] == [202] * 20
    assert (hooks[0], secrets[0]) == (1, 1)
    assert await count_rows(hub_of(api), zap_id) == (21, 21)


async def test_entries_past_half_their_life_refresh_in_the_background(api: Api) -> None:
    _, path = await github_zap(api)
    assert (await api.client.post(path, **signed({}, delivery="warm"))).status_code == 202
    intake = intake_of(hub_of(api))
    hooks, secrets = _count_loads(intake, "_load"), _count_loads(intake, "_load_secrets")
    _age(intake, intake.ttl * 0.75)
    before = time.monotonic()
    assert (await api.client.post(path, **signed({}, delivery="d-1"))).status_code == 202
    for _ in range(200):
        if not intake._loading:
            break
        await asyncio.sleep(0.01)
    assert (hooks[0], secrets[0]) == (1, 1)
    assert all(h.loaded >= before for h in intake._hooks.values())
    assert all(at >= before for _, at in intake._secrets.values())


async def test_forget_is_not_answered_by_a_load_begun_before_it(api: Api) -> None:
    zap_id, path = await github_zap(api)
    hook_id = path.rsplit("/", 1)[1]
    intake = intake_of(hub_of(api))
    started = asyncio.Event()
    original = intake._load

    async def slow(hid: str) -> object:
        found = await original(hid)
        started.set()
        await asyncio.sleep(0.05)
        return found

    intake._load = slow  # type: ignore[method-assign]
    early = asyncio.create_task(intake.hook(hook_id))
    await started.wait()
    assert (await api.post(f"/api/v1/zaps/{zap_id}/disable")).status_code < 300
    intake._load = original  # type: ignore[method-assign]
    assert await intake.hook(hook_id) is None  # disabled: the earlier load is not shared
    assert (await early) is not None
    assert await intake.hook(hook_id) is None  # nor cached when it ends
