"""``feed.new_items``: fetch an RSS or Atom feed through the hub's client (conditional GET with
the stored ETag / Last-Modified), parse the bytes with feedparser (which never fetches
anything itself here) and return the entries oldest first, identified by id or link."""

from __future__ import annotations

import calendar
import hashlib
import io
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub import Connector, PollResult, PollTrigger, StepError, provider_error

MAX_BYTES = 5 * 1024 * 1024
TEXT_LIMIT = 20_000


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(title="Feed URL", max_length=4000,
                     examples=["https://blog.example.com/feed.xml"])
    max_items: int = Field(50, ge=1, le=500, title="Most items per poll")

    @field_validator("url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"invalid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("the feed URL must be an absolute http:// or https:// URL")
        return value


def _iso(parsed: Any) -> str | None:
    if not parsed:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()


def _item(entry: Any) -> dict[str, Any] | None:
    link = entry.get("link")
    item_id = entry.get("id") or link
    if not item_id:
        seed = f"{entry.get('title', '')}\0{entry.get('published', '')}"
        if not seed.strip("\0"):
            return None
        item_id = "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
    content = entry.get("content") or []
    return {"id": str(item_id)[:1000], "title": entry.get("title", ""), "link": link,
            "published": _iso(entry.get("published_parsed")),
            "updated": _iso(dict.get(entry, "updated_parsed")),  # no feedparser fallback
            "author": entry.get("author"),
            "summary": (entry.get("summary") or "")[:TEXT_LIMIT],
            "content": (content[0].get("value", "") if content else "")[:TEXT_LIMIT],
            "tags": [t.get("term") for t in entry.get("tags") or [] if t.get("term")][:50]}


async def _read(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise StepError(f"the feed is larger than {MAX_BYTES} bytes",
                            code="response_too_large", retryable=False)
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch(http: httpx.AsyncClient, url: str,
                cursor: Any) -> tuple[httpx.Response, bytes, dict[str, str]]:
    """GET the feed (conditionally); the response, its bytes and the validators to keep."""
    validators = cursor if isinstance(cursor, dict) else {}
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                         "*/*;q=0.5"}
    if validators.get("etag"):
        headers["If-None-Match"] = str(validators["etag"])
    if validators.get("modified"):
        headers["If-Modified-Since"] = str(validators["modified"])
    try:
        request = http.build_request("GET", url, headers=headers)
        response = await http.send(request, stream=True, follow_redirects=True)
        try:
            content = await _read(response)
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        raise provider_error(exc, provider=httpx.URL(url).host or "the feed") from None
    if response.status_code >= 400:
        raise provider_error(httpx.Response(response.status_code, content=content[:2000]),
                             provider=response.url.host or "the feed")
    kept = {"etag": response.headers.get("etag"),
            "modified": response.headers.get("last-modified")}
    return response, content, {k: v for k, v in kept.items() if v}


def parse(content: bytes, content_type: str) -> list[Any]:
    import feedparser

    parsed = feedparser.parse(io.BytesIO(content),
                              response_headers={"content-type": content_type})
    if parsed.get("bozo") and not parsed.entries and not parsed.get("version"):
        raise StepError("the answer is not an RSS or Atom feed", code="invalid_response",
                        retryable=False)
    return list(parsed.entries)


class NewItems(PollTrigger):
    key = "new_items"
    title = "New feed items"
    description = "Each new entry of an RSS or Atom feed starts a run (id: entry id or link)."
    Config = FeedConfig
    dedupe_key = "id"

    async def poll(self, config: FeedConfig, creds: Any, cursor: Any,
                   http: httpx.AsyncClient) -> PollResult:
        response, content, validators = await fetch(http, config.url, cursor)
        if response.status_code == 304:
            return PollResult([], cursor)
        content_type = response.headers.get("content-type", "application/xml")
        entries = parse(content, content_type)[:config.max_items]
        items = [i for i in map(_item, entries) if i is not None]
        items.reverse()  # feeds list the newest first; runs start oldest first
        return PollResult(items, validators or None)


class Feed(Connector):
    key = "feed"
    title = "RSS and Atom feeds"
    description = "Start a run for each new entry of a feed."
    triggers = (NewItems,)
