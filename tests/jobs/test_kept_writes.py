"""Writes the database refused are kept in order and go in once it takes them again (no database: a list stands
in for it, and a switch makes it refuse)."""

from __future__ import annotations

from jobs.kept_writes import MAX_RETRY_SECONDS, RETRY_SECONDS, Backoff, KeptWrites


class FlakyTable:
    def __init__(self) -> None:
        self.rows: list[str] = []
        self.refusing = False

    def writer(self, row: str):
        def write() -> None:
            if self.refusing:
                raise OSError("database is locked")
            self.rows.append(row)

        return write


def test_refused_writes_wait_their_turn_and_go_in_in_order() -> None:
    table, writes = FlakyTable(), KeptWrites()
    writes.record("first", table.writer("first"))
    table.refusing = True
    writes.record("second", table.writer("second"))
    table.refusing = False
    writes.record("third", table.writer("third"))  # behind the kept one, whose backoff is not over
    assert table.rows == ["first"] and len(writes) == 2
    assert writes.retry(force=True)
    assert table.rows == ["first", "second", "third"] and len(writes) == 0
    assert not writes.retry(force=True)


def test_a_write_refused_again_keeps_everything_behind_it() -> None:
    table, writes = FlakyTable(), KeptWrites()
    table.refusing = True
    writes.record("a", table.writer("a"))
    writes.record("b", table.writer("b"))
    assert not writes.retry(force=True) and len(writes) == 2 and table.rows == []


def test_the_backoff_doubles_up_to_its_ceiling_and_a_success_resets_it() -> None:
    backoff = Backoff()
    for _ in range(20):
        backoff.failed()
    assert backoff.waiting and backoff.delay == MAX_RETRY_SECONDS
    backoff.succeeded()
    assert not backoff.waiting and backoff.delay == RETRY_SECONDS
