"""results/writer.py: a run's files written in the background, in the order submitted; a failed write is raised in
the training thread and stops every later one."""

import threading

import pytest

from results.writer import BackgroundWriter


def test_tasks_run_in_order_on_another_thread_and_drain_waits_for_them(tmp_path):
    release, ran = threading.Event(), []
    with BackgroundWriter() as writer:
        writer.submit(lambda: (release.wait(5), ran.append(("first", threading.current_thread().name))))
        writer.submit(lambda: ran.append(("second", threading.current_thread().name)))
        assert ran == []  # the training thread went on
        release.set()
        writer.drain()
        assert [name for name, _ in ran] == ["first", "second"]
        assert {thread for _, thread in ran} == {"run writer"}


def test_a_failed_write_is_raised_at_the_next_submission_and_stops_the_later_ones(tmp_path):
    ran = []
    writer = BackgroundWriter()

    def full_disk():
        raise OSError(28, "No space left on device", str(tmp_path / "run_logs.json"))

    writer.submit(full_disk)
    writer.submit(lambda: ran.append("after"))
    with pytest.raises(OSError, match="No space left on device"):
        writer.drain()
    with pytest.raises(OSError):
        writer.submit(lambda: ran.append("later"))
    with pytest.raises(OSError):
        writer.close()
    assert ran == [] and not writer.thread.is_alive()


def test_leaving_with_an_error_of_its_own_keeps_that_error(tmp_path):
    with pytest.raises(KeyError):
        with BackgroundWriter() as writer:
            writer.submit(lambda: (_ for _ in ()).throw(OSError("disk")))
            raise KeyError("the training's own error")
    assert not writer.thread.is_alive()
