"""Runs household imports in a background thread of the API process: one transaction per chunk (strict: one
for the whole file), progress committed as it goes, one import at a time (a PostgreSQL advisory lock)."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.imports import Row, read_csv, read_json_lines
from enrolment.use_cases.import_households import ImportState, import_chunk, load_import_state
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import DomainError

log = logging.getLogger(__name__)

CHUNK = 1000
_LOCK = "enrolment:household-imports"


def _chunks(rows: Iterator[Row]) -> Iterator[list[Row]]:
    """Chunks of parsed rows, parsed ahead in a thread: parsing (Python) overlaps the writes (PostgreSQL)."""
    ready: queue.Queue[list[Row] | BaseException | None] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def parse() -> None:
        try:
            while chunk := list(islice(rows, CHUNK)):
                while not stop.is_set():
                    try:
                        ready.put(chunk, timeout=0.5)
                        break
                    except queue.Full:
                        continue
            ready.put(None)
        except BaseException as error:
            ready.put(error)

    parser = threading.Thread(target=parse, name="import-parser", daemon=True)
    parser.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        parser.join(timeout=5)


class ImportRunner:
    """Starts and runs import jobs; `threads` are the running ones (tests and shutdown may join them)."""

    def __init__(self, engine: Engine, unit_of_work: Callable[[], EnrolmentUnitOfWork]) -> None:
        self.engine = engine
        self.unit_of_work = unit_of_work
        self.threads: list[threading.Thread] = []

    def start(self, import_id: uuid.UUID, path: Path, *, fmt: str, strict: bool, actor: Principal) -> None:
        thread = threading.Thread(
            target=self.run,
            args=(import_id, path, fmt, strict, actor),
            name=f"import-{import_id}",
            daemon=True,
        )
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()

    def run(self, import_id: uuid.UUID, path: Path, fmt: str, strict: bool, actor: Principal) -> None:
        try:
            with self.engine.connect() as lock:
                lock.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": _LOCK})
                lock.commit()
                try:
                    self._run(import_id, path, fmt, strict, actor)
                finally:
                    lock.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": _LOCK})
                    lock.commit()
        except Exception:
            log.exception("household import failed", extra={"import_id": str(import_id)})
            self._finish(
                import_id, "failed", {"code": "internal_error", "message": "the import failed; see logs"}
            )
        finally:
            path.unlink(missing_ok=True)

    def _run(self, import_id: uuid.UUID, path: Path, fmt: str, strict: bool, actor: Principal) -> None:
        with self.unit_of_work() as uow:
            uow.imports.started(import_id)
            uow.commit()
        with self.unit_of_work() as uow:
            state = load_import_state(uow)
        with path.open("rb") as file:
            try:
                rows = read_csv(file) if fmt == "csv" else read_json_lines(file)
                if strict:
                    self._strict(import_id, rows, state, actor)
                else:
                    self._chunked(import_id, rows, state, actor)
            except DomainError as error:
                self._finish(
                    import_id,
                    "failed",
                    {"code": error.code, "message": error.message, "details": error.details},
                )

    def _chunked(
        self, import_id: uuid.UUID, rows: Iterator[Row], state: ImportState, actor: Principal
    ) -> None:
        """One transaction per chunk, committed as it goes; a refused row never stops the import.

        Writing in a third thread was measured slower: the CPU-bound threads delay the writer's every return
        from PostgreSQL by up to the interpreter's switch interval (the GIL convoy effect).
        """
        totals = {"accepted": 0, "rejected": 0, "duplicates": 0}
        for chunk in _chunks(rows):
            with self.unit_of_work() as uow:
                outcome = import_chunk(uow, import_id=import_id, rows=chunk, state=state)
                uow.imports.report(outcome.refused)
                uow.imports.advance(
                    import_id,
                    rows=len(chunk),
                    accepted=outcome.accepted,
                    rejected=outcome.rejected,
                    duplicates=outcome.duplicates,
                )
                uow.commit()
            totals["accepted"] += outcome.accepted
            totals["rejected"] += outcome.rejected
            totals["duplicates"] += outcome.duplicates
        with self.unit_of_work() as uow:
            uow.imports.finished(import_id, status="completed")
            self._audit(uow, import_id, actor, "completed", totals)
            uow.commit()

    def _strict(
        self, import_id: uuid.UUID, rows: Iterator[Row], state: ImportState, actor: Principal
    ) -> None:
        """All or nothing: every chunk in one transaction, committed only if no row was refused."""
        totals = {"accepted": 0, "rejected": 0, "duplicates": 0}
        with self.unit_of_work() as data:
            for chunk in _chunks(rows):
                outcome = import_chunk(data, import_id=import_id, rows=chunk, state=state)
                data.flush()
                totals["accepted"] += outcome.accepted
                totals["rejected"] += outcome.rejected
                totals["duplicates"] += outcome.duplicates
                with self.unit_of_work() as progress:
                    progress.imports.report(outcome.refused)
                    progress.imports.advance(
                        import_id, rows=len(chunk), accepted=0, rejected=outcome.rejected, duplicates=0
                    )
                    progress.commit()
            if totals["rejected"]:
                data.rollback()
            else:
                data.imports.advance(
                    import_id,
                    rows=0,
                    accepted=totals["accepted"],
                    rejected=0,
                    duplicates=totals["duplicates"],
                )
                data.imports.finished(import_id, status="completed")
                self._audit(data, import_id, actor, "completed", totals)
                data.commit()
                return
        with self.unit_of_work() as uow:
            error = {
                "code": "rolled_back",
                "message": f"strict import: {totals['rejected']} rows refused, nothing was imported",
            }
            uow.imports.finished(import_id, status="rolled_back", error=error)
            self._audit(uow, import_id, actor, "rolled_back", {**totals, "accepted": 0, "duplicates": 0})
            uow.commit()

    def _audit(
        self,
        uow: EnrolmentUnitOfWork,
        import_id: uuid.UUID,
        actor: Principal,
        status: str,
        totals: dict[str, Any],
    ) -> None:
        record_action(
            uow,
            actor=actor,
            action="households.import",
            subject=f"household-import/{import_id}",
            before={"status": "running"},
            after={"status": status, **totals},
        )

    def _finish(self, import_id: uuid.UUID, status: str, error: dict[str, Any]) -> None:
        with self.unit_of_work() as uow:
            uow.imports.finished(import_id, status=status, error=error)
            uow.commit()
