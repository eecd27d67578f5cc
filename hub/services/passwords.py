"""Password hashing (argon2id via ``argon2-cffi``), off the event loop and bounded.

Each hash costs tens of milliseconds and 64 MiB, so at most ``CONCURRENCY`` run at once (in
their own threads): a burst of sign-ins queues instead of exhausting memory. A password's
length is capped before hashing.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.errors import BadRequest

MIN_LENGTH = 10
MAX_LENGTH = 1024
CONCURRENCY = 2
_hasher = PasswordHasher()
_pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="argon2")
#: verified against when the user is unknown, so both cases take the same time
_DUMMY = _hasher.hash("zaphub: no such user, same cost")


def check_strength(password: str) -> None:
    """Refuse a password that is too short, too long or blank (``weak_password``)."""
    if len(password) < MIN_LENGTH or not password.strip():
        raise BadRequest(f"a password needs at least {MIN_LENGTH} characters",
                         code="weak_password")
    if len(password) > MAX_LENGTH:
        raise BadRequest(f"a password has at most {MAX_LENGTH} characters",
                         code="weak_password")


async def hash_password(password: str) -> str:
    check_strength(password)
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (``None``: no password; costs the same)."""
    if len(password) > MAX_LENGTH:
        return False
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
