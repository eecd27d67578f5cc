"""The ``feed`` connector: RSS 2.0 and Atom parsed from bytes fetched through the hub's client,
conditional GETs, bad answers, and the README's polling example run by the scheduler."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml
from hub_plugins.feed.connector import Feed, NewItems
from pytest_httpx import HTTPXMock

from hub import StepError
from hub.context import Hub
from hub.scheduler import Scheduler
from hub.services import identity
from hub.services import zaps as zaps_svc
from hub.store.tables import runs
from hub.testing import check_connector

URL = "https://blog.example.com/feed.xml"
README = Path(__file__).resolve().parents[1] / "README.md"


def rss(*items: tuple[str, str]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>https://blog.example.com/{g}</link>"
                   f"<guid>{g}</guid><pubDate>Mon, 06 Sep 2021 16:45:00 +0000</pubDate>"
                   f"<category>news</category></item>" for g, t in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
            f"<link>https://blog.example.com/</link>{body}</channel></rss>").encode()


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Example</title>
<id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id><updated>2003-12-13T18:30:02Z</updated>
<entry><title>Atom-Powered Robots Run Amok</title>
<link href="http://example.org/2003/12/13/atom03"/>
<id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id><updated>2003-12-13T18:30:02Z</updated>
<summary>Some text.</summary><author><name>John Doe</name></author></entry>
<entry><title>No id</title><link href="http://example.org/2003/12/14/x"/>
<updated>2003-12-14T18:30:02Z</updated></entry></feed>"""


def test_contract() -> None:
    check_connector(Feed)


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient() as c:
        yield c


async def poll(http: httpx.AsyncClient, cursor: Any = None, **config: Any) -> Any:
    return await NewItems().poll(NewItems.Config(url=URL, **config), None, cursor, http)


async def test_rss_items_oldest_first_with_validators(httpx_mock: HTTPXMock,
                                                      http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(url=URL, content=rss(("p2", "Second"), ("p1", "First")),
                            headers={"Content-Type": "application/rss+xml", "ETag": '"v1"',
                                     "Last-Modified": "Mon, 06 Sep 2021 16:45:00 GMT"})
    result = await poll(http)
    assert [i["id"] for i in result.items] == ["p1", "p2"]
    first = result.items[0]
    assert first["title"] == "First" and first["link"] == "https://blog.example.com/p1"
    assert first["published"] == "2021-09-06T16:45:00+00:00" and first["tags"] == ["news"]
    assert result.cursor == {"etag": '"v1"', "modified": "Mon, 06 Sep 2021 16:45:00 GMT"}
    httpx_mock.add_response(url=URL, status_code=304,
                            match_headers={"If-None-Match": '"v1"',
                                           "If-Modified-Since": "Mon, 06 Sep 2021 16:45:00 GMT"})
    again = await poll(http, result.cursor)
    assert again.items == [] and again.cursor == result.cursor


async def test_atom_id_or_link(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(url=URL, content=ATOM,
                            headers={"Content-Type": "application/atom+xml"})
    result = await poll(http)
    assert [i["id"] for i in result.items] == [
        "http://example.org/2003/12/14/x", "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"]
    assert result.items[1]["author"] == "John Doe" and result.items[1]["summary"] == "Some text."


async def test_bad_answers(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(url=URL, text="<html><body>Sign in</body></html>",
                            headers={"Content-Type": "text/html"})
    with pytest.raises(StepError) as info:
        await poll(http)
    assert info.value.code == "invalid_response"
    httpx_mock.add_response(url=URL, status_code=503)
    with pytest.raises(StepError) as info:
        await poll(http)
    assert info.value.code == "provider_unavailable"
    httpx_mock.add_response(url=URL, content=b"<rss>" + b"x" * (6 * 1024 * 1024))
    with pytest.raises(StepError) as info:
        await poll(http)
    assert info.value.code == "response_too_large"


def test_url_checked() -> None:
    for bad in ("feed.xml", "file:///etc/passwd", "http://"):
        with pytest.raises(ValueError):
            NewItems.Config(url=bad)


def _readme_example() -> dict[str, Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    return yaml.safe_load(next(b for b in blocks if "source: feed.new_items" in b))


async def test_readme_polling_example_works(hub: Hub, owner: identity.Principal,
                                            httpx_mock: HTTPXMock) -> None:
    ws = owner.workspace_id
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=_readme_example())
    scheduler = Scheduler(hub)
    httpx_mock.add_response(url=URL, content=rss(("p1", "First")))
    assert await scheduler.poll_once(zap["id"]) == 0  # the baseline
    httpx_mock.add_response(url=URL, content=rss(("p2", "Second"), ("p1", "First")))
    assert await scheduler.poll_once(zap["id"]) == 1
    async with hub.db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(runs).where(
            runs.c.zap_id == zap["id"]))).scalar_one()
    assert count == 1
