"""The whole system as `filet up` runs it, one per test module, on free ports in a throwaway workspace."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from filet.embedded import free_port
from filet.journey import Journey
from filet.stack import Stack
from shared.settings import Settings


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    """Environment variables for every child process of the module's stack (a module may override this)."""
    return {}


@pytest.fixture(scope="module")
def stack(stack_env: dict[str, str]) -> Iterator[Stack]:
    """The whole system as `filet up` runs it, on free ports, in a throwaway workspace."""
    # Not pytest's tmp_path: its root is kept at mode 700, which the PostgreSQL system user cannot traverse.
    workspace = Path(tempfile.mkdtemp(prefix="filet-e2e-"))
    ports = {
        "enrolment": free_port(),
        "payments": free_port(),
        "reconciliation": free_port(),
        "simulator": free_port(),
    }
    settings = Settings(topic_prefix="e2e")  # DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS when set, else embedded
    running = Stack(settings, workspace, ports=ports, pg_port=free_port(), broker_port=free_port())
    # Stack.child_env() copies os.environ: keep the module's variables set while its stack lives, so that a
    # process a test starts again gets them too.
    with pytest.MonkeyPatch.context() as patch:
        for name, value in stack_env.items():
            patch.setenv(name, value)
        try:
            running.start()
            yield running
        finally:
            running.stop()
            shutil.rmtree(workspace, ignore_errors=True)


@pytest.fixture(scope="module")
def journey(stack: Stack) -> Journey:
    urls = {name: stack.url(name) for name in ("enrolment", "payments", "reconciliation", "simulator")}
    return Journey(urls, stack.tokens)
