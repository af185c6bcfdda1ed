"""High availability on `storage "postgresql"`: two production servers share one database; the one holding
the lock is active, the other a standby that forwards requests to it and takes over when it stops or steps
down."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import hvac
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from strongroom.core.ha import STEP_DOWN_PAUSE
from tests.postgres import Postgres
from tests.relay import Relay
from tests.servers import ConfigServer, free_port, strongroom_config_server

DATABASE = "strongroom_ha"


@pytest.fixture(scope="module")
def database(postgres: Postgres) -> Iterator[str]:
    """A database of this module's own, so the lock rows and data never meet other suites'."""
    with postgres.database(DATABASE) as url:
        yield url


@dataclass
class Cluster:
    """Two servers on one table, initialized and unsealed; `root` is the root token."""

    nodes: list[ConfigServer]
    root: str

    def leader(self, node: ConfigServer) -> dict[str, object]:
        body: dict[str, object] = httpx.get(f"{node.address}/v1/sys/leader", timeout=10).json()
        return body

    def client(self, node: ConfigServer) -> httpx.Client:
        return httpx.Client(base_url=node.address, headers={"X-Vault-Token": self.root}, timeout=30)


def _config(url: str, table: str, port: int) -> str:
    return (
        f'storage "postgresql" {{\n  connection_url = "{url}"\n  table = "{table}"\n'
        f'  ha_enabled = "true"\n  ha_table = "{table}_ha"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
        f'api_addr = "http://127.0.0.1:{port}"\ncluster_addr = "https://127.0.0.1:{port + 1}"\n'
    )


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def cluster(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    table = "kv_" + request.node.name.removeprefix("test_")[:40]
    with ExitStack() as stack:
        nodes = []
        for index in range(2):
            workdir = tmp_path / f"node{index}"
            workdir.mkdir()
            port = free_port()
            nodes.append(
                stack.enter_context(strongroom_config_server(workdir, _config(database, table, port), port))
            )
        init = httpx.put(
            f"{nodes[0].address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}, timeout=30
        ).json()
        for node in nodes:
            unsealed = httpx.put(f"{node.address}/v1/sys/unseal", json={"key": init["keys"][0]}, timeout=30)
            assert unsealed.json()["sealed"] is False
        running = Cluster(nodes=nodes, root=init["root_token"])
        _wait_for("one active server", lambda: any(running.leader(n)["is_self"] for n in nodes))
        yield running


def _roles(cluster: Cluster) -> tuple[ConfigServer, ConfigServer]:
    """(active, standby)."""
    first, second = cluster.nodes
    return (first, second) if cluster.leader(first)["is_self"] else (second, first)


def test_one_active_one_standby_with_vaults_status_answers(cluster: Cluster) -> None:
    active, standby = _roles(cluster)
    seen_from_standby = cluster.leader(standby)
    assert seen_from_standby["ha_enabled"] is True
    assert seen_from_standby["is_self"] is False
    assert seen_from_standby["leader_address"] == active.address
    assert seen_from_standby["active_time"] == "0001-01-01T00:00:00Z"
    seen_from_active = cluster.leader(active)
    assert (seen_from_active["is_self"], seen_from_active["leader_address"]) == (True, active.address)
    assert str(seen_from_active["active_time"]).endswith("Z")

    health = httpx.get(f"{standby.address}/v1/sys/health", timeout=10)
    assert health.status_code == 429
    assert (health.json()["standby"], health.json()["sealed"]) == (True, False)
    assert httpx.get(f"{standby.address}/v1/sys/health?standbyok=true", timeout=10).status_code == 200
    assert httpx.get(f"{standby.address}/v1/sys/health?standbycode=472", timeout=10).status_code == 472
    active_health = httpx.get(f"{active.address}/v1/sys/health", timeout=10)
    assert (active_health.status_code, active_health.json()["standby"]) == (200, False)
    status = httpx.get(f"{standby.address}/v1/sys/seal-status", timeout=10).json()
    assert (status["sealed"], status["storage_type"]) == (False, "postgresql")


def test_a_standby_forwards_and_a_stopped_active_is_replaced(cluster: Cluster) -> None:
    active, standby = _roles(cluster)
    with cluster.client(standby) as through_standby:
        assert through_standby.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).status_code == 204
        written = through_standby.post("/v1/secret/data/app", json={"data": {"password": "s3cret"}})
        assert written.status_code == 200
        assert written.json()["data"]["version"] == 1
        listed = through_standby.request("LIST", "/v1/secret/metadata")
        assert listed.json()["data"]["keys"] == ["app"]
        missing = through_standby.get("/v1/secret/data/nothing")
        assert (missing.status_code, missing.json()) == (404, {"errors": []})
        denied = httpx.get(
            f"{standby.address}/v1/secret/data/app", headers={"X-Vault-Token": "bogus"}, timeout=10
        )
        assert (denied.status_code, denied.json()) == (403, {"errors": ["permission denied"]})
    with cluster.client(active) as through_active:
        assert through_active.get("/v1/secret/data/app").json()["data"]["data"] == {"password": "s3cret"}

    # SIGTERM: the active server seals and gives the lock up; the standby takes over and has the data.
    active.process.terminate()
    active.process.wait(timeout=30)
    _wait_for("the standby to take over", lambda: cluster.leader(standby)["is_self"] is True)
    assert httpx.get(f"{standby.address}/v1/sys/health", timeout=10).status_code == 200
    with cluster.client(standby) as survivor:
        assert survivor.get("/v1/secret/data/app").json()["data"]["data"] == {"password": "s3cret"}
        assert (
            survivor.post("/v1/secret/data/app", json={"data": {"password": "n3w"}}).json()["data"]["version"]
            == 2
        )


def test_step_down_moves_leadership_and_hvac_works_through_the_standby(cluster: Cluster) -> None:
    active, standby = _roles(cluster)
    with cluster.client(active) as through_active:
        assert through_active.put("/v1/sys/step-down").status_code == 204
    _wait_for("the other server to take over", lambda: cluster.leader(standby)["is_self"] is True)
    _wait_for("the old active server to stand by", lambda: cluster.leader(active)["is_self"] is False)
    assert cluster.leader(active)["leader_address"] == standby.address
    assert httpx.get(f"{active.address}/v1/sys/health", timeout=10).status_code == 429

    # hvac pointed at the new standby: every call is forwarded to the new active server.
    client = hvac.Client(url=active.address, token=cluster.root, timeout=30)
    assert client.is_authenticated()
    client.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})
    client.secrets.kv.v2.create_or_update_secret(path="db", secret={"user": "app"}, mount_point="kv")
    read = client.secrets.kv.v2.read_secret_version(
        path="db", mount_point="kv", raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"user": "app"}
    assert client.sys.read_leader_status()["is_self"] is False
    with cluster.client(standby) as through_new_active:
        assert through_new_active.get("/v1/kv/data/db").json()["data"]["data"] == {"user": "app"}


@dataclass
class _Writer:
    """Writes version after version of one KV secret through whichever server answers; every write the
    servers acknowledged is in `acks` as (monotonic time sent, time acknowledged, version, value)."""

    nodes: list[ConfigServer]
    token: str
    acks: list[tuple[float, float, int, int]]
    stop: threading.Event
    served_by: list[str] = field(default_factory=list)  # the address that acknowledged each of `acks`

    def run(self) -> None:
        value = 0
        with httpx.Client(headers={"X-Vault-Token": self.token}, timeout=3) as client:
            while not self.stop.is_set():
                for node in list(self.nodes):
                    sent = time.monotonic()
                    try:
                        answer = client.post(
                            f"{node.address}/v1/secret/data/counter", json={"data": {"n": value}}
                        )
                    except httpx.HTTPError:
                        continue
                    if answer.status_code == 200:
                        self.acks.append((sent, time.monotonic(), answer.json()["data"]["version"], value))
                        self.served_by.append(node.address)
                        value += 1
                        break
                else:
                    time.sleep(0.02)


def test_sigkill_of_the_active_fails_over_fast_and_loses_no_acknowledged_write(
    database: str, tmp_path: Path
) -> None:
    trials, failovers = 10, []
    with ExitStack() as stack:
        ports = [free_port(), free_port()]
        workdirs = [tmp_path / "node0", tmp_path / "node1"]

        def start(index: int) -> ConfigServer:
            workdirs[index].mkdir(exist_ok=True)
            config = _config(database, "kv_failover", ports[index])
            return stack.enter_context(strongroom_config_server(workdirs[index], config, ports[index]))

        nodes = [start(0), start(1)]
        init = httpx.put(
            f"{nodes[0].address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}, timeout=30
        ).json()

        def unseal(node: ConfigServer) -> None:
            answer = httpx.put(f"{node.address}/v1/sys/unseal", json={"key": init["keys"][0]}, timeout=30)
            assert answer.json()["sealed"] is False

        for node in nodes:
            unseal(node)
        cluster = Cluster(nodes=nodes, root=init["root_token"])
        _wait_for("one active server", lambda: any(cluster.leader(n)["is_self"] for n in nodes))
        active, _ = _roles(cluster)
        with cluster.client(active) as client:
            assert client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).status_code == 204
            # Every version stays readable, so the test can read back each last acknowledged one.
            assert client.post("/v1/secret/config", json={"max_versions": 100000}).status_code == 204

        writer = _Writer(nodes=nodes, token=cluster.root, acks=[], stop=threading.Event())
        thread = threading.Thread(target=writer.run, daemon=True)
        thread.start()
        try:
            for _ in range(trials):
                active, standby = _roles(cluster)
                _wait_for(
                    "writes to flow",
                    lambda: len(writer.acks) > 0 and time.monotonic() - writer.acks[-1][1] < 0.5,
                )
                index = nodes.index(active)
                active.process.kill()
                killed_at = time.monotonic()
                _wait_for(
                    "a write after the failover",
                    lambda since=killed_at: writer.acks[-1][0] > since,  # type: ignore[misc]
                    timeout=15,
                )
                # A write sent after the kill can only have been served by the new active server.
                first_after = next(ack for ack in writer.acks if ack[0] > killed_at)
                failovers.append(first_after[1] - killed_at)
                _, _, last_version, last_value = [ack for ack in writer.acks if ack[0] < killed_at][-1]
                assert cluster.leader(standby)["is_self"] is True
                with cluster.client(standby) as survivor:
                    read = survivor.get(f"/v1/secret/data/counter?version={last_version}").json()
                assert read["data"]["data"] == {"n": last_value}, read
                active.process.wait(timeout=10)
                nodes[index] = start(index)
                unseal(nodes[index])
                _wait_for(
                    "the restarted server to stand by",
                    lambda i=index, leader=standby.address: (
                        cluster.leader(nodes[i])["leader_address"] == leader
                    ),  # type: ignore[misc]
                )
        finally:
            writer.stop.set()
            thread.join(timeout=10)
    versions = [version for _, _, version, _ in writer.acks]
    # One writer, one write at a time: an acknowledged write lost, or two servers writing at once, would
    # show as a version number acknowledged twice. (A write the killed server committed but never
    # acknowledged is retried, so a version may be skipped.)
    assert versions == sorted(set(versions)), versions
    failovers.sort()
    print(
        f"failover after SIGKILL: min {failovers[0]:.2f} s, median {failovers[len(failovers) // 2]:.2f} s, "
        f"max {failovers[-1]:.2f} s over {trials} trials"
    )
    assert failovers[-1] < 5, failovers


def test_an_active_that_lost_its_lock_session_cannot_write_beside_the_new_one(
    cluster: Cluster, postgres: Postgres
) -> None:
    active, standby = _roles(cluster)
    with cluster.client(active) as client:
        assert client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).status_code == 204
        assert client.post("/v1/secret/data/app", json={"data": {"n": -1}}).status_code == 200
    # Only the active server's lock session ends: it still believes it is active until its next renewal,
    # while the standby takes the lock within a second.
    killed = postgres.query(
        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND a.datname = %s",
        DATABASE,
    )
    assert killed == [(True,)]
    acks: list[tuple[int, int]] = []
    refused = 0
    deadline = time.monotonic() + 7
    with cluster.client(active) as old, cluster.client(standby) as new:
        value = 0
        while time.monotonic() < deadline:
            for client in (old, new):
                answer = client.post("/v1/secret/data/app", json={"data": {"n": value}})
                if answer.status_code == 200:
                    acks.append((answer.json()["data"]["version"], value))
                    value += 1
                else:
                    refused += 1
    assert cluster.leader(standby)["is_self"] is True
    assert cluster.leader(active)["is_self"] is False
    versions = [version for version, _ in acks]
    assert versions == sorted(set(versions)), versions
    with cluster.client(standby) as survivor:
        for version, value in acks[-3:]:
            read = survivor.get(f"/v1/secret/data/app?version={version}").json()
            assert read["data"]["data"] == {"n": value}


async def test_a_standby_relays_the_event_stream_of_the_active_server(cluster: Cluster) -> None:
    active, standby = _roles(cluster)
    with cluster.client(active) as client:
        assert client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).status_code == 204
    url = standby.address.replace("http://", "ws://") + "/v1/sys/events/subscribe/kv*?json=true"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers={"X-Vault-Token": "bogus"}):
            pass
    assert refused.value.response.status_code == 403
    no_json = url.removesuffix("?json=true")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(no_json, additional_headers={"X-Vault-Token": cluster.root}):
            pass
    assert refused.value.response.status_code == 400
    assert orjson.loads(refused.value.response.body) == {
        "errors": ["only JSON event streams are supported: add json=true"]
    }
    # A browser's token, offered as a subprotocol, travels on to the active server too.
    browser_token = "vault-token.b64url." + base64.urlsafe_b64encode(cluster.root.encode()).decode().rstrip(
        "="
    )
    offered = [Subprotocol("vault-events.v1"), Subprotocol(browser_token)]
    async with connect(url, subprotocols=offered) as ws:
        assert ws.subprotocol == "vault-events.v1"
    async with connect(url, additional_headers={"X-Vault-Token": cluster.root}) as ws:
        async with httpx.AsyncClient(headers={"X-Vault-Token": cluster.root}, timeout=30) as client:
            written = await client.post(f"{active.address}/v1/secret/data/app", json={"data": {"k": "v"}})
            assert written.status_code == 200
        frame = await asyncio.wait_for(ws.recv(), 10)
        assert isinstance(frame, str)
        event = orjson.loads(frame)
        assert event["data"]["event_type"] == "kv-v2/data-write"
        assert event["data"]["event"]["metadata"]["path"] == "secret/data/app"
        # The active server stops (its stream ends); the relay ends the client's stream too.
        active.process.terminate()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 30)


def test_a_write_fenced_off_by_the_new_active_is_refused_with_a_clear_503(
    cluster: Cluster, postgres: Postgres
) -> None:
    """The old active's writes between the standby's takeover and its own step-down fail at the fence:
    the client gets Vault's error shape with a line saying why (503, which Vault clients retry), never a
    bare 500. The old active notices at its next renewal (every 5 s), which may come before the takeover
    (then no write is fenced), so the lock changes hands up to four times until fenced writes are seen."""
    fenced = "this server lost the HA lock to another server while serving the request; retry it"
    with cluster.client(cluster.nodes[0]) as client:
        assert client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).status_code == 204
    refusals: list[tuple[int, list[str]]] = []
    for _attempt in range(4):
        active, standby = _roles(cluster)
        killed = postgres.query(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND a.datname = %s",
            DATABASE,
        )
        assert killed == [(True,)]
        deadline = time.monotonic() + 10
        with cluster.client(active) as old:
            while time.monotonic() < deadline and cluster.leader(active)["is_self"]:
                answer = old.post("/v1/secret/data/app", json={"data": {"n": 1}})
                if answer.status_code != 200:
                    refusals.append((answer.status_code, answer.json()["errors"]))
        _wait_for("the standby to take over", lambda node=standby: bool(cluster.leader(node)["is_self"]))
        if (503, [fenced]) in refusals:
            break
    assert (503, [fenced]) in refusals
    assert all(
        status == 503 and len(errors) == 1 and errors != ["internal error"] for status, errors in refusals
    )
    with cluster.client(active) as old:  # a standby now: it forwards, and the write is served
        assert old.post("/v1/secret/data/app", json={"data": {"n": 2}}).status_code == 200


def _relayed_cluster(
    database: str, postgres: Postgres, tmp_path: Path, stack: ExitStack, table: str
) -> tuple[Cluster, Relay]:
    """Two servers on `table`, the first (made active) reaching PostgreSQL through a relay."""
    relay = Relay(postgres.port)
    stack.callback(relay.close)
    direct = f"127.0.0.1:{postgres.port}/"
    urls = [database.replace(direct, f"127.0.0.1:{relay.port}/"), database]
    nodes = []
    for index, url in enumerate(urls):
        workdir = tmp_path / f"node{index}"
        workdir.mkdir()
        port = free_port()
        nodes.append(stack.enter_context(strongroom_config_server(workdir, _config(url, table, port), port)))
    init = httpx.put(
        f"{nodes[1].address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}, timeout=30
    ).json()
    cluster = Cluster(nodes=nodes, root=init["root_token"])
    for node in nodes:
        unsealed = httpx.put(f"{node.address}/v1/sys/unseal", json={"key": init["keys"][0]}, timeout=30)
        assert unsealed.json()["sealed"] is False
        if node is nodes[0]:
            _wait_for(
                "the relayed server to become active", lambda: cluster.leader(nodes[0])["is_self"] is True
            )
    with cluster.client(nodes[0]) as client:
        assert client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).status_code == 204
        assert client.post("/v1/secret/config", json={"max_versions": 100000}).status_code == 204
    return cluster, relay


def _partition_trials(
    cluster: Cluster, part: Callable[[], None], restore: Callable[[], None], trials: int
) -> list[tuple[float, float]]:
    """Partition the relayed, active server from PostgreSQL `trials` times while a writer runs through
    both servers; each time check the takeover, that no acknowledged write is lost, that the partitioned
    server acknowledges nothing sent after the partition, and that it rejoins as a standby once restored.
    Returns (seconds until the other server said it was active, seconds until its first acknowledged
    write) per trial."""
    cut_off, survivor = cluster.nodes
    writer = _Writer(nodes=cluster.nodes, token=cluster.root, acks=[], stop=threading.Event())
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    timings = []
    try:
        for _ in range(trials):
            if not cluster.leader(cut_off)["is_self"]:
                with cluster.client(survivor) as client:
                    assert client.put("/v1/sys/step-down").status_code == 204
                stepped_down = time.monotonic()
                _wait_for(
                    "the relayed server to be active again",
                    lambda: cluster.leader(cut_off)["is_self"] is True,
                )
                # A server that stepped down competes again only after STEP_DOWN_PAUSE (Vault's 10 s).
                time.sleep(max(0.0, stepped_down + STEP_DOWN_PAUSE + 0.5 - time.monotonic()))
            _wait_for(
                "writes to flow through the relayed server",
                lambda: (
                    len(writer.acks) > 0
                    and writer.served_by[-1] == cut_off.address
                    and time.monotonic() - writer.acks[-1][1] < 0.5
                ),
            )
            part()
            parted_at = time.monotonic()
            _wait_for(
                "the other server to take over", lambda: cluster.leader(survivor)["is_self"] is True, 60
            )
            leader_after = time.monotonic() - parted_at
            _wait_for("a write after the partition", lambda since=parted_at: writer.acks[-1][0] > since, 60)
            after = [i for i, ack in enumerate(writer.acks) if ack[0] > parted_at]
            timings.append((leader_after, writer.acks[after[0]][1] - parted_at))
            assert {writer.served_by[i] for i in after} == {survivor.address}
            _, _, last_version, last_value = [ack for ack in writer.acks if ack[0] < parted_at][-1]
            with cluster.client(survivor) as client:
                read = client.get(f"/v1/secret/data/counter?version={last_version}").json()
            assert read["data"]["data"] == {"n": last_value}, read
            _wait_for(
                "the partitioned server to stop calling itself active",
                lambda: cluster.leader(cut_off)["is_self"] is False,
                30,
            )
            restore()
            _wait_for(
                "the relayed server to rejoin as a standby",
                lambda: (
                    cluster.leader(cut_off)["is_self"] is False
                    and cluster.leader(cut_off)["leader_address"] == survivor.address
                ),
                60,
            )
    finally:
        writer.stop.set()
        thread.join(timeout=10)
    versions = [version for _, _, version, _ in writer.acks]
    assert versions == sorted(set(versions)), versions
    return timings


def test_a_partitioned_active_is_replaced_fast_and_rejoins(
    database: str, postgres: Postgres, tmp_path: Path
) -> None:
    """The relay closes both ends at once: PostgreSQL ends the lock session and frees the advisory lock,
    the standby takes it within its next attempt, and the cut-off server's renewal fails."""
    with ExitStack() as stack:
        cluster, relay = _relayed_cluster(database, postgres, tmp_path, stack, "kv_cut")
        timings = _partition_trials(cluster, relay.cut, relay.restore, trials=3)
    print("takeover after a cut (leader, first write), s:", [(round(a, 2), round(b, 2)) for a, b in timings])
    assert all(first_write < 5 for _, first_write in timings), timings


# When the test plays PostgreSQL's keepalives ending the silenced server's sessions (a few seconds on a real
# network with the keepalive settings our sessions carry).
KEEPALIVE_EXPIRY = 8.0


def _end_sessions(postgres: Postgres, ports: list[int]) -> None:
    postgres.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = ANY(%s)", ports
    )


def test_a_silently_partitioned_active_is_replaced_after_the_lock_ttl(
    database: str, postgres: Postgres, tmp_path: Path
) -> None:
    """The relay stops forwarding without closing anything: neither end notices, and a statement of the
    cut-off server's can hold the lock row, so no standby can take it (seen: over 60 s) until PostgreSQL ends
    that session, which its keepalives do on a real network and the test does here. The cut-off server
    acknowledges nothing meanwhile and gives up being active; the standby takes over once the session ends."""
    with ExitStack() as stack:
        cluster, relay = _relayed_cluster(database, postgres, tmp_path, stack, "kv_silent")

        def silence() -> None:
            # Through a userspace relay no TCP timeout can fire, so the test plays the part of PostgreSQL's
            # keepalives (tcp_keepalives_*, which end a lost client's session within seconds on a real
            # network): after KEEPALIVE_EXPIRY it ends the sessions the silenced server held. Until then a
            # statement of the cut-off server's may hold the lock row, and no standby can take it.
            ports = relay.upstream_ports()
            relay.silence()
            timer = threading.Timer(KEEPALIVE_EXPIRY, _end_sessions, (postgres, ports))
            timer.daemon = True
            timer.start()

        timings = _partition_trials(cluster, silence, relay.restore, trials=1)
    print(
        "takeover after a silent partition (leader, first write), s:",
        [(round(a, 2), round(b, 2)) for a, b in timings],
    )
    assert all(first_write < 25 for _, first_write in timings), timings
