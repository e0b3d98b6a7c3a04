"""The correlator's front door: sensors' streams put in order, duplicates dropped, gaps counted (clock injected)."""

from __future__ import annotations

from airwatch.bus.merge import TimeMerge
from airwatch.contact import Contact, Transport


def c(t: float, sensor: str = "A") -> Contact:
    return Contact(time=t, transport=Transport.ADSB, sensor_id=sensor, frame=int(t * 10))


def times(contacts: list[Contact]) -> list[tuple[str | None, float]]:
    return [(x.sensor_id, x.time) for x in contacts]


def test_out_of_order_batches_reassembled_and_duplicates_dropped():
    m = TimeMerge(max_hold=5.0)
    m.add("A", "s", [(1, c(1.0)), (3, c(3.0))], now=0.0)
    m.add("A", "s", [(2, c(2.0)), (4, c(4.0))], now=0.0)
    m.add("A", "s", [(2, c(2.0)), (3, c(3.0))], now=0.0)  # QoS 1 sent them again
    assert times(m.release(now=0.0)) == [("A", 1.0), ("A", 2.0), ("A", 3.0), ("A", 4.0)]
    assert m.counts().duplicates == 2 and m.counts().lost == 0


def test_a_gap_waits_max_hold_then_is_counted_as_lost():
    m = TimeMerge(max_hold=5.0)
    m.add("A", "s", [(1, c(1.0)), (4, c(4.0))], now=0.0)
    assert times(m.release(now=1.0)) == [("A", 1.0)]
    assert times(m.release(now=6.0)) == [("A", 4.0)]
    assert (m.counts().lost, m.counts().gaps) == (2, 1)
    m.add("A", "s", [(2, c(2.0))], now=7.0)  # too late: already given up, so dropped as seen
    assert m.release(now=7.0) == [] and m.counts().duplicates == 1


def test_two_sensors_merged_by_time_with_ties_to_the_first_configured():
    m = TimeMerge(max_hold=100.0, expected=["A", "B"])
    m.add("A", "a", [(1, c(1.0)), (2, c(5.0)), (3, c(7.0))], now=0.0)
    assert m.release(now=1.0) == []  # B is configured and not heard yet: A waits
    m.add("B", "b", [(1, c(1.0, "B")), (2, c(6.0, "B"))], now=1.0)
    assert times(m.release(now=1.0)) == [("A", 1.0), ("B", 1.0), ("A", 5.0), ("B", 6.0)]
    assert m.release(now=2.0) == []  # A's 7.0 waits for B to pass 7
    m.add("B", "b", [(3, c(7.0, "B"))], now=2.0)
    assert times(m.release(now=2.0)) == [("A", 7.0)]  # a tie goes to A; B's 7.0 waits for A to pass 7


def test_a_contact_waits_at_most_max_hold():
    m = TimeMerge(max_hold=0.1, expected=["A", "B"])
    m.add("A", "a", [(1, c(1.0))], now=10.0)
    assert m.release(now=10.05) == []
    assert times(m.release(now=10.2)) == [("A", 1.0)]
    assert m.counts().forced == 1  # counted: the order may differ from replay's


def test_heartbeat_watermark_frees_the_others_and_down_or_ended_sensors_stop_holding():
    m = TimeMerge(max_hold=100.0, expected=["A", "B", "C", "D"])
    m.add("A", "a", [(1, c(10.0))], now=95.0)
    m.stream("B").on_status({"status": "up", "stream": "b", "seq": 0, "watermark": 20.0}, now=95.0)
    m.stream("D").on_status({"status": "stopped", "stream": "d", "seq": 0}, now=95.0)  # stopped: no longer holds
    assert m.release(now=95.0) == []  # C, configured, not heard
    m.stream("C").on_status({"status": "down", "reason": "connection lost"}, now=0.0)
    assert m.release(now=99.0) == []  # a will holds max_hold longer (a broker restart sends them all)
    assert times(m.release(now=100.5)) == [("A", 10.0)]
    m.add("A", "a", [(2, c(30.0))], now=100.5)
    assert m.release(now=100.5) == []  # B's watermark is 20
    m.stream("B").on_status({"status": "ended", "stream": "b", "seq": 0}, now=100.5)
    assert times(m.release(now=100.5)) == [("A", 30.0)]


def test_a_heartbeat_counts_only_once_its_contacts_arrived():
    m = TimeMerge(max_hold=100.0, expected=["A", "B"])
    m.add("A", "a", [(1, c(10.0))], now=0.0)
    m.stream("B").on_status({"status": "up", "stream": "b", "seq": 2, "watermark": 20.0}, now=0.0)
    assert m.release(now=0.0) == []  # B says "up to seq 2", but 1 and 2 have not come
    m.add("B", "b", [(1, c(5.0, "B")), (2, c(6.0, "B"))], now=0.0)
    assert times(m.release(now=0.0)) == [("B", 5.0), ("B", 6.0), ("A", 10.0)]
    assert m.watermark(now=0.0) == 10.0  # A's latest; B's heartbeat says 20


def test_end_of_stream_waits_for_its_last_contacts():
    m = TimeMerge(max_hold=5.0)
    m.stream("A").on_status({"status": "ended", "stream": "a", "seq": 3}, now=0.0)
    m.add("A", "a", [(1, c(1.0)), (2, c(2.0))], now=0.0)
    m.release(now=0.0)
    assert not m.all_ended()
    m.add("A", "a", [(3, c(3.0))], now=0.0)
    assert times(m.release(now=0.0)) == [("A", 3.0)] and m.all_ended()


def test_a_new_stream_starts_its_numbers_again():
    m = TimeMerge(max_hold=5.0)
    m.add("A", "old", [(41, c(1.0)), (42, c(2.0))], now=0.0)
    m.add("A", "new", [(1, c(3.0))], now=0.0)  # the sensor's spool was wiped
    assert times(m.release(now=0.0)) == [("A", 1.0), ("A", 2.0), ("A", 3.0)]
    assert m.counts().duplicates == 0
