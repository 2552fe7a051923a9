"""The event bus: publish(user_id, event) from any thread; streams subscribe on the event loop.

Two transports behind one interface:

- in process (the embedded default, no REDIS_URL): `publish` hands the event straight to this
  process's open streams of that learner;
- Redis pub/sub (REDIS_URL set): `publish` sends the event on the channel of the Redis database
  (`drona:live:<db>`), and every sidecar process listens on it (one connection each, redis.asyncio)
  and hands each event to its own streams of that learner. So a tab served by one process sees what
  another process awarded. An event published while Redis is unreachable is lost (logged); the
  site reloads the learner's profile whenever its stream reconnects.

`publish` never blocks the request that awarded the XP and never raises: on the server it queues
the event to the event loop's sender; in a process that serves nothing (a CLI command, a grading
worker) it publishes to Redis directly, with a 2-second timeout.

The cap on a learner's open streams is counted here too: in process, or with Redis a sorted set per
learner (stream id → last heartbeat), so that it holds across processes and a stream of a process
that died lapses after STREAM_TTL_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from .events import LiveEvent

log = logging.getLogger("drona.live")

QUEUE_SIZE = 100  # events waiting for one stream; a stream that falls this far behind is closed
OUTBOX_SIZE = 10_000  # events waiting for Redis in one process
STREAM_TTL_S = 60.0  # a stream's claim lapses unless its heartbeat renews it (every 15 s)
RETRY_MAX_S = 30.0


class Subscription:
    """One open stream of one learner, read on the event loop it was made on."""

    def __init__(self, user_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.id = uuid.uuid4().hex
        self.user_id = user_id
        self.loop = loop
        self.queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.closed = False

    def offer(self, event: LiveEvent) -> None:
        """On the subscription's loop: queue an event (a stream this far behind is closed instead)."""
        if self.closed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("a live stream fell %d events behind: closed (the tab reconnects)", QUEUE_SIZE)
            self.close()

    def close(self) -> None:
        """On the subscription's loop: end the stream; what it still holds is dropped (the tab reloads on reconnect)."""
        if self.closed:
            return
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def get(self, timeout: float) -> LiveEvent | None:
        """The next event; None once closed; TimeoutError after `timeout` seconds without one."""
        return await asyncio.wait_for(self.queue.get(), timeout=timeout)


class Fanout:
    """This process's open streams, by learner; delivers to each on its own loop (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, set[Subscription]] = {}

    def add(self, subscription: Subscription) -> None:
        with self._lock:
            self._streams.setdefault(subscription.user_id, set()).add(subscription)

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            streams = self._streams.get(subscription.user_id)
            if streams is not None:
                streams.discard(subscription)
                if not streams:
                    del self._streams[subscription.user_id]

    def count(self, user_id: str) -> int:
        with self._lock:
            return len(self._streams.get(user_id, ()))

    def deliver(self, user_id: str, event: LiveEvent) -> None:
        with self._lock:
            streams = list(self._streams.get(user_id, ()))
        for subscription in streams:
            try:
                subscription.loop.call_soon_threadsafe(subscription.offer, event)
            except RuntimeError:  # its loop has closed
                self.remove(subscription)

    def close_all(self) -> None:
        with self._lock:
            streams = [s for group in self._streams.values() for s in group]
        for subscription in streams:
            with contextlib.suppress(RuntimeError):
                subscription.loop.call_soon_threadsafe(subscription.close)


class MemoryBus:
    """In process: the embedded default (one sidecar process)."""

    kind = "memory"

    def __init__(self) -> None:
        self.fanout = Fanout()
        self._claims: dict[str, dict[str, float]] = {}  # learner -> stream id -> last heartbeat
        self._lock = threading.Lock()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self.fanout.close_all()

    def publish(self, user_id: str, event: LiveEvent) -> None:
        self.fanout.deliver(user_id, event)

    async def claim(self, user_id: str, stream_id: str, limit: int) -> bool:
        now = time.monotonic()
        with self._lock:
            claims = self._claims.setdefault(user_id, {})
            for lapsed in [s for s, seen in claims.items() if seen <= now - STREAM_TTL_S]:
                del claims[lapsed]
            if len(claims) >= limit:
                return False
            claims[stream_id] = now
            return True

    async def renew(self, user_id: str, stream_id: str) -> None:
        with self._lock:
            claims = self._claims.get(user_id)
            if claims is not None and stream_id in claims:
                claims[stream_id] = time.monotonic()

    async def release(self, user_id: str, stream_id: str) -> None:
        with self._lock:
            claims = self._claims.get(user_id)
            if claims is not None:
                claims.pop(stream_id, None)
                if not claims:
                    del self._claims[user_id]


def channel_for(redis_url: str) -> str:
    """The channel of the Redis database in the URL. Pub/sub channels ignore the database number, so
    it goes into the name: sites (or test runs) on different databases of one server stay apart."""
    path = urlsplit(redis_url).path.strip("/")
    return f"drona:live:{path or '0'}"


class RedisBus:
    """Redis pub/sub: every process receives every event and hands it to its own streams."""

    kind = "redis"

    def __init__(self, url: str) -> None:
        self.url = url
        self.channel = channel_for(url)
        self.fanout = Fanout()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None  # publishing and stream claims (short timeouts)
        self._listen_client: Any = None  # the subscription (no read timeout: it waits for events)
        self._sync_client: Any = None  # publishing from a process that serves nothing
        self._outbox: asyncio.Queue[str] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed: asyncio.Event | None = None
        self._sync_lock = threading.Lock()

    async def start(self) -> None:
        import redis.asyncio as aioredis

        self.loop = asyncio.get_running_loop()
        self._client = aioredis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        self._listen_client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2, health_check_interval=30)
        self._outbox = asyncio.Queue(maxsize=OUTBOX_SIZE)
        self._subscribed = asyncio.Event()
        self._tasks = [asyncio.create_task(self._listen(), name="drona-live-listen"),
                       asyncio.create_task(self._send(), name="drona-live-send")]
        try:
            # Subscribed before the first request: an event published once the server answers reaches it.
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)
        except TimeoutError:
            log.warning("live events: Redis at %s did not answer at start-up; retrying in the background",
                        _where(self.url))

    async def stop(self) -> None:
        self.fanout.close_all()
        self.loop = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for client in (self._client, self._listen_client):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()

    @property
    def subscribed(self) -> bool:
        return self._subscribed is not None and self._subscribed.is_set()

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            pubsub = self._listen_client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                assert self._subscribed is not None
                self._subscribed.set()
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._received(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis went away: subscribe again after a while
                log.warning("live events: lost the Redis subscription (%s); retrying in %.1f s",
                            type(exc).__name__, delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def _received(self, raw: Any) -> None:
        try:
            message = json.loads(raw)
            user_id = message["user_id"]
            event = LiveEvent.from_json(message["event"])
        except (TypeError, ValueError, KeyError):
            log.warning("live events: ignored a message that is not an event")
            return
        if isinstance(user_id, str) and event is not None:
            self.fanout.deliver(user_id, event)

    async def _send(self) -> None:
        assert self._outbox is not None
        while True:
            payload = await self._outbox.get()
            try:
                await self._client.publish(self.channel, payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one lost event; the site reloads on reconnect
                log.warning("live events: an event was not published (%s)", type(exc).__name__)

    def _enqueue(self, payload: str) -> None:
        if self._outbox is None:
            return
        try:
            self._outbox.put_nowait(payload)
        except asyncio.QueueFull:
            log.warning("live events: %d events wait for Redis; dropped one", OUTBOX_SIZE)

    def publish(self, user_id: str, event: LiveEvent) -> None:
        payload = json.dumps({"user_id": user_id, "event": event.to_json()}, separators=(",", ":"))
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._enqueue, payload)
                return
            except RuntimeError:
                pass  # the loop closed meanwhile
        self._publish_now(payload)

    def _publish_now(self, payload: str) -> None:
        try:
            with self._sync_lock:
                if self._sync_client is None:
                    import redis

                    self._sync_client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
                client = self._sync_client
            client.publish(self.channel, payload)
        except Exception as exc:  # noqa: BLE001 - never fail the caller's committed work
            log.warning("live events: an event was not published (%s)", type(exc).__name__)

    def _claims_key(self, user_id: str) -> str:
        return f"drona:live-streams:{user_id}"

    async def claim(self, user_id: str, stream_id: str, limit: int) -> bool:
        key, now = self._claims_key(user_id), time.time()
        pipe = self._client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, 0, now - STREAM_TTL_S)
        pipe.zadd(key, {stream_id: now})
        pipe.zcard(key)
        pipe.expire(key, int(STREAM_TTL_S * 2))
        _, _, count, _ = await pipe.execute()
        if int(count) > limit:
            await self._client.zrem(key, stream_id)
            return False
        return True

    async def renew(self, user_id: str, stream_id: str) -> None:
        key = self._claims_key(user_id)
        with contextlib.suppress(Exception):
            await self._client.zadd(key, {stream_id: time.time()}, xx=True)
            await self._client.expire(key, int(STREAM_TTL_S * 2))

    async def release(self, user_id: str, stream_id: str) -> None:
        with contextlib.suppress(Exception):
            await self._client.zrem(self._claims_key(user_id), stream_id)


def _where(url: str) -> str:
    """Host and port for log lines: never a password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"


Bus = MemoryBus | RedisBus
_bus: Bus = MemoryBus()
_bus_lock = threading.Lock()


def current() -> Bus:
    return _bus


def publish(user_id: str, event: LiveEvent) -> None:
    """Send `event` to every open stream of the learner, in any process: never blocks, never raises.
    Call it only once the change it reports has committed (sidecar/gamification/live.py)."""
    try:
        _bus.publish(user_id, event)
    except Exception:  # noqa: BLE001 - a notice must never fail committed work
        log.warning("live events: publish failed", exc_info=True)


async def start(redis_url: str | None) -> Bus:
    """Make this process's bus (the app's lifespan): Redis when REDIS_URL is set, else in process."""
    global _bus
    bus: Bus = RedisBus(redis_url) if redis_url else MemoryBus()
    await bus.start()
    with _bus_lock:
        previous, _bus = _bus, bus
    if previous is not bus and isinstance(previous, MemoryBus):
        previous.fanout.close_all()  # streams of an earlier app in this process (tests) end
    return bus


async def stop(bus: Bus) -> None:
    """End the bus's streams and connections; the process falls back to the in-process bus."""
    global _bus
    with _bus_lock:
        if _bus is bus:
            _bus = MemoryBus()
    await bus.stop()


def close_streams() -> None:
    """End every open stream of this process now (the server is shutting down)."""
    _bus.fanout.close_all()


def close_streams_on_signals() -> None:
    """Chain SIGINT and SIGTERM so that open streams end as soon as the server is asked to stop.

    uvicorn's graceful shutdown waits for every open response to finish: an event stream never
    does, so shutdown would wait for its timeout (or forever). Called on the serving thread once the
    server has installed its own handlers (the lifespan); they still run after ours, and uvicorn
    puts the originals back when it stops. Elsewhere (a test client's thread) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if getattr(previous, "_drona_live", False):
            continue
        signal.signal(signum, _chained(loop, previous))


def _chained(loop: asyncio.AbstractEventLoop, previous: Any) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        # A signal handler may interrupt code holding the fan-out's lock: schedule, never lock here.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(close_streams)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    handler._drona_live = True  # type: ignore[attr-defined]
    return handler
