"""A Faust consumer that hands each fetched message to its streams without two asyncio tasks
per message.

faust-streaming 0.15's `Consumer._drain_messages` wraps every delivery in
`wait_first(callback(message), suspend_flow.wait())`: two tasks and an `asyncio.wait` per
message, so that a delivery blocked on a full stream buffer can be abandoned when a rebalance
suspends the flow. On this project's 2-core machine that alone caps a Faust agent that does
nothing at 5,853 messages/s; this consumer reaches 12,095 (`bench/faust_ceiling.py`).
Nearly every delivery completes without waiting, so `FastDrainConsumer` starts it eagerly,
in the loop, and falls back to Faust's race only for a delivery that has to wait (what
asyncio's eager tasks do from Python 3.12). Everything else is Faust's code, unchanged.

Its consumer thread also batches fetches (`BatchedFetchThread`, below).

The override copies a private method, so `tests/streams/test_fastdrain.py` pins the upstream
source it was copied from: an upgrade of faust-streaming that changes it fails that test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, cast

from aiokafka import TopicPartition
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import Service

from streams.plumbing.kafka_backoff import MetadataBackoffProducer, with_metadata_backoff
from streams.plumbing.producers import PRODUCER_OPTIONS

Waiting = asyncio.Future[Any] | None  # what a coroutine yields to the event loop


def start_eagerly(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Waiting]:
    """Run `coro` until it ends or first waits: (ended, what it waits on)."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return True, None
    return False, waiting


async def finish(coro: Coroutine[Any, Any, Any], waiting: Waiting) -> Any:
    """Drive a coroutine that `start_eagerly` left waiting to its end, as an asyncio Task
    would; cancelling this closes it (its `finally` blocks run)."""
    try:
        while True:
            if waiting is None:  # a bare yield: asyncio.sleep(0)
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False
                await asyncio.wait([waiting])
            try:
                waiting = coro.send(None)
            except StopIteration as stop:
                return stop.value
    except asyncio.CancelledError:
        if waiting is not None:
            waiting.cancel()
        coro.close()
        raise


# Faust's consumer fetches with aiokafka's fetch_min_bytes=1 (and a hard-coded 1,500 ms
# wait), so at a modest rate every arrival costs a fetch round trip: 9% of a worker's busy
# time at 1,000 events/s. Waiting up to 10 ms for 64 KiB batches them. (Four alternated
# runs each of bench/pipeline --events 20000 at 1,000 events/s: worker CPU 59% -> 55% on
# average, p99 416-2,171 ms -> 271-645 ms.)
FETCH_MIN_BYTES = 64 * 1024
FETCH_MAX_WAIT_MS = 10


class BatchedFetchThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread; its aiokafka consumer batches fetches (see above) and backs
    off between failed metadata updates (streams/plumbing/kafka_backoff.py)."""

    async def seek_all(self, offsets: Mapping[Any, int]) -> None:
        """Seek each partition to its offset; to be called in this thread (`call_thread`)."""
        for tp, offset in offsets.items():
            self.seek(tp, offset)

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # The fetcher is built from these at start(); Faust passes no way to set them.
        consumer._fetch_min_bytes = FETCH_MIN_BYTES
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        with_metadata_backoff(consumer._client)
        return consumer


# Where each assigned partition is to be read from, when the app knows better than Kafka's
# committed offsets: partition -> next offset to read.
StartOffsets = Callable[[set[Any]], Awaitable[dict[Any, int]]]


class FastDrainConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer; only the per-message delivery loop, the fetch batching and
    where partitions start after a rebalance differ."""

    start_offsets: StartOffsets | None = None

    def _new_consumer_thread(self) -> Any:
        return BatchedFetchThread(self, loop=self.loop, beacon=self.beacon)

    async def seek_to_committed(self) -> Any:
        """Kafka's committed offsets, overruled by `start_offsets` where it has one.

        Faust seeks to the committed offsets after every rebalance (its recovery's last step,
        after the app's `on_partitions_assigned` handlers have run, so a seek there is undone);
        it acknowledges fetched messages in a `finally` even when they were not processed, so
        those offsets can be past what the app applied."""
        committed = dict(await super().seek_to_committed())
        if self.start_offsets is not None:
            starts = await self.start_offsets(set(self.assignment()))
            # In the consumer's own thread: Faust's `seek` changes aiokafka's fetcher from the
            # calling thread, racing the fetcher's `fetched_records` there (its KeyError of a
            # partition, seen after take-overs), which then loses the records it had taken
            # from the buffer: the partition stalled past them.
            thread = cast(BatchedFetchThread, self._thread)
            await thread.call_thread(thread.seek_all, starts)
            for tp, offset in starts.items():
                self._read_offset[tp] = offset if offset else None  # as Faust's `seek` does
                committed[tp] = offset
        return committed

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - see above
        # Copied from faust-streaming 0.15.3 (faust/transport/consumer.py); the one change is
        # marked CHANGED.
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        suspended = self.suspend_flow.is_set

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = getmany(timeout=1.0)

                # Sleeping because sometimes getmany is called in a loop
                # never releasing to the event loop
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            # We have a gap in income messages
                            if gap > 1 and r_offset:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            # CHANGED: was `await self.wait_first(callback(message),
                            # self.suspend_flow.wait())` for every message.
                            if suspended():
                                await self.wait_first(callback(message), self.suspend_flow.wait())
                            else:
                                # Faust's callback is a coroutine function.
                                delivery = cast(Coroutine[Any, Any, Any], callback(message))
                                ended, waiting = start_eagerly(delivery)
                                if not ended:
                                    await self.wait_first(
                                        finish(delivery, waiting), self.suspend_flow.wait()
                                    )
                            set_read_offset(tp, offset)
                        else:
                            self.log.dev(
                                "DROPPED MESSAGE ROFF %r: k=%r v=%r",
                                offset,
                                message.key,
                                message.value,
                            )
                    unset_flag(flag_consumer_fetching)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except KeyError as exc:
            if not isinstance(exc.args[0] if exc.args else None, TopicPartition):
                self.log.exception("Drain messages raised: %r", exc)
                raise
            # aiokafka's fetcher deletes the records of a partition that a rebalance took away
            # meanwhile (fetcher.fetched_records: `del self._records[tp]`); seen once in a
            # two-worker test, it crashed the Fetcher and the worker stopped scoring. Drain
            # again, from the partitions held now.
            self.log.warning("fetch raced a rebalance (%r); draining again", exc, exc_info=True)
            await self._drain_messages(fetcher)
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)


class BackoffProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer service; its producers back off between failed metadata
    updates (streams/plumbing/kafka_backoff.py)."""

    @property
    def _producer_type(self) -> type[MetadataBackoffProducer]:
        return MetadataBackoffProducer

    def _settings_extra(self) -> Mapping[str, Any]:
        # Faust makes its producer idempotent only inside transactions (the worker has none).
        return {**super()._settings_extra(), **PRODUCER_OPTIONS}


class FastDrainTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with `FastDrainConsumer`, and a producer that backs off
    between failed metadata updates."""

    Consumer = FastDrainConsumer
    Producer = BackoffProducer
