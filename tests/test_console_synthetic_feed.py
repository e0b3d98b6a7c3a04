"""The synthetic live feed (the console benchmark's traffic) on its own clock, and the console on it."""

from __future__ import annotations

from collections import Counter

from airwatch.config import ConsoleSettings, CorrelatorSettings, SensorSettings, Settings
from airwatch.console.app import AirwatchConsole
from airwatch.console.synthetic_feed import SyntheticFeed
from airwatch.correlator.model import AlertType, Classification

T0 = 1_763_700_000.0
SENSOR = SensorSettings(id="s1", lat=46.2044, lon=6.1432, alt_m=420.0)


def feed(**kw) -> tuple[SyntheticFeed, list[float]]:  # type: ignore[no-untyped-def]
    clock = [T0]
    settings = Settings(sensor=SENSOR, correlator=CorrelatorSettings(non_cooperative_window_s=5.0),
                        console=ConsoleSettings(refresh_hz=0.001, operator="test"))
    return SyntheticFeed(settings, clock=lambda: clock[0], **kw), clock


def run(f: SyntheticFeed, clock: list[float], seconds: float, step: float = 0.25) -> None:
    for _ in range(int(seconds / step)):
        clock[0] += step
        f.advance_to(clock[0])


def test_every_object_is_heard_once_a_second_as_one_track() -> None:
    f, clock = feed(drones=30, aircraft=5, signatures=5)
    f.advance_to(clock[0])
    run(f, clock, 10.0)
    pic = f.picture()
    assert len(pic.tracks) == 40
    assert 390 <= f.sent <= 410  # 40 objects, 10 s, once a second each
    kinds = Counter(t.classification for t in pic.tracks)
    assert kinds == {Classification.COOPERATIVE_DRONE: 30, Classification.AIRCRAFT: 5,
                     Classification.DRONE_SIGNATURE: 5}
    drone = next(t for t in pic.tracks if t.classification is Classification.COOPERATIVE_DRONE)
    assert drone.last_fix is not None and drone.operator is not None and len(drone.trail) >= 9
    assert len({(fx.lat, fx.lon) for fx in drone.trail}) == len(drone.trail)  # it moves
    assert pic.now == clock[0] and pic.mode == "live" and pic.sensors["s1"] == SENSOR


def test_remote_id_drones_are_compliant_and_signature_drones_are_not_cooperative() -> None:
    f, clock = feed(drones=20, aircraft=0, signatures=3)
    f.advance_to(clock[0])
    run(f, clock, 15.0)
    alerts = f.picture().alerts
    assert not [a for a in alerts if a.type is AlertType.NON_COMPLIANT]
    assert len([a for a in alerts if a.type is AlertType.NON_COOPERATIVE]) == 3


def test_same_seed_same_traffic() -> None:
    (a, ca), (b, cb) = feed(drones=10, aircraft=2, signatures=1), feed(drones=10, aircraft=2, signatures=1)
    for f, c in ((a, ca), (b, cb)):
        f.advance_to(c[0])
        run(f, c, 3.0)
    fixes = [{t.track_id: t.last_fix and (t.last_fix.lat, t.last_fix.lon) for t in f.picture().tracks} for f in (a, b)]
    assert fixes[0] == fixes[1]


async def test_console_shows_every_track_of_a_busy_picture() -> None:
    f, clock = feed(drones=300, aircraft=20, signatures=30)
    f.advance_to(clock[0])
    run(f, clock, 8.0)
    app = AirwatchConsole(f, f.settings, operator="test", start_feed=False, wall_clock=lambda: clock[0])
    async with app.run_test(size=(200, 60)) as pilot:
        for _ in range(3):
            run(f, clock, 0.25)
            app.refresh_picture()
            await pilot.pause()
        assert app.table.row_count == 350
        assert len(app.log_pane.alerts) == len(app.picture_.alerts) >= 30
        assert app.scope.tracks is app.picture_.tracks
