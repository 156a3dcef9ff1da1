"""The embedded broker: a consumer racing a producer never reads a message half written."""

from __future__ import annotations

import threading
import uuid

from kombu import Connection


def _connection(folder, transport: str) -> Connection:
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(exist_ok=True)
    return Connection(
        transport=transport,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": True,
            "control_folder": str(folder / "control"),  # kombu's default is ./control
            "polling_interval": 0.001,
        },
    )


def _race(folder, transport: str, count: int = 1500) -> tuple[list, list]:
    """Put ``count`` messages from one thread while another takes them as they appear."""
    received, errors = [], []
    done = threading.Event()

    def consume() -> None:
        with _connection(folder, transport) as connection:
            queue = connection.SimpleQueue("race")
            while len(received) < count and not errors:
                try:
                    message = queue.get(timeout=5)
                except queue.Empty:
                    if done.is_set():
                        return
                    continue
                except Exception as exc:  # what a worker would die of
                    errors.append(exc)
                    return
                received.append(message.payload)
                message.ack()

    with _connection(folder, transport) as connection:
        # Declared first: the connections of one process share kombu's record of bindings,
        # so a queue declared second would skip writing a binding the first has not written.
        queue = connection.SimpleQueue("race")
        consumer = threading.Thread(target=consume)
        consumer.start()
        for i in range(count):
            queue.put({"n": i, "pad": "x" * 2000})
    done.set()
    consumer.join(30)
    return received, errors


def test_every_message_is_read_whole(tmp_path):
    received, errors = _race(tmp_path, "runs.broker:Transport")
    assert errors == []
    assert sorted(message["n"] for message in received) == list(range(1500))
    assert not list((tmp_path / "queue").glob("*.part"))


def test_settings_use_this_transport_for_the_filesystem_broker():
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert settings.CELERY_BROKER_TRANSPORT == "runs.broker:Transport"


def _bind_and_read(folder, transport: str, binders: int = 4, each: int = 60) -> tuple[set, list]:
    """Bind ``binders * each`` queues to one exchange from several threads while another reads
    its table; return the bindings the table ends with and what the reader failed with."""
    errors, done = [], threading.Event()
    exchange = f"fan-{uuid.uuid4().hex}"  # kombu records bindings per process, not per folder

    def bind(worker: int) -> None:
        with _connection(folder, transport) as connection:
            channel = connection.channel()
            channel.exchange_declare(exchange, "direct")
            for i in range(each):
                name = f"q{worker}-{i}"
                channel.queue_declare(name)
                channel.queue_bind(name, exchange, routing_key=name)

    def read() -> None:
        with _connection(folder, transport) as connection:
            channel = connection.channel()
            while not done.is_set():
                try:
                    channel.get_table(exchange)
                except Exception as exc:  # what a producer's publish would fail with
                    errors.append(exc)
                    return

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=bind, args=(n,)) for n in range(binders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    done.set()
    reader.join(30)
    with _connection(folder, transport) as connection:
        table = connection.channel().get_table(exchange)
    return {q.queue for q in table}, errors


def test_exchange_bindings_made_at_once_are_all_kept_and_always_readable(tmp_path):
    bound, errors = _bind_and_read(tmp_path, "runs.broker:Transport")
    assert errors == []
    assert bound == {f"q{worker}-{i}" for worker in range(4) for i in range(60)}
    assert not list((tmp_path / "control").glob("*.part"))


def test_an_unbound_queue_leaves_the_table_and_the_others_stay(tmp_path):
    with _connection(tmp_path, "runs.broker:Transport") as connection:
        channel, exchange = connection.channel(), f"fan-{uuid.uuid4().hex}"
        channel.exchange_declare(exchange, "direct")
        for name in ("a", "b"):
            channel.queue_declare(name)
            channel.queue_bind(name, exchange, routing_key=name)
        channel.queue_delete("a")
        assert [q.queue for q in channel.get_table(exchange)] == ["b"]
