"""docs/deployment.md runs: its app, served twice against one real Redis, is two replicas.

``tests/test_docs.py`` runs every Python block of the docs but has no Redis, so the
guide's app block is marked a fragment there and is run here instead, with the helpers
of ``test_docs`` (not copies): a run POSTed to one replica is joined, byte for byte, and
hydrated from the other, and a stop sent to the other finds it finished.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from redis_support import redis_server
from servers import serve
from test_docs import BLOCKS, RUN_INPUT, SERVER_APP, assert_events, load_app, post_route

GUIDE = [b for b in BLOCKS if b.file.name == "deployment.md"]


def test_the_guide_has_one_app_block_marked_for_this_test() -> None:
    apps = [b for b in GUIDE if SERVER_APP.search(b.code)]
    assert len(apps) == 1 and apps[0].fragment
    comment = apps[0].file.read_text(encoding="utf-8").splitlines()[apps[0].line - 2]
    assert "tests/test_redis_docs.py" in comment


def test_the_guides_app_runs_as_two_replicas_on_one_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (block,) = [b for b in GUIDE if SERVER_APP.search(b.code)]
    with redis_server() as redis:
        monkeypatch.setenv("REDIS_URL", redis.url)
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        one, other = load_app(block, tmp_path / "a"), load_app(block, tmp_path / "b")
        route = post_route(one)
        with serve(one) as a, serve(other) as b:
            posted = httpx.post(a.url + route, json=RUN_INPUT, timeout=30)
            run = {"runId": RUN_INPUT["runId"]}
            joined = httpx.get(b.url + route, params={**run, "offset": "-1"}, timeout=30)
            thread = httpx.get(b.url + route, params={"threadId": RUN_INPUT["threadId"]})
            stopped = httpx.delete(b.url + route, params=run, timeout=30)

    assert_events(posted)
    assert joined.status_code == 200 and joined.content == posted.content
    hydrated = thread.json()
    assert hydrated["activeRun"] is None
    assert [m["role"] for m in hydrated["messages"]] == ["user", "assistant"]
    assert stopped.status_code == 200 and stopped.json()["state"] == "finished"
