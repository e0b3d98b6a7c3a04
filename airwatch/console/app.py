"""The operator console: one screen with the contacts, the scope, the alert log and the details.

The console only displays: a :class:`~airwatch.console.picture.Feed` runs decoding and
correlation on its own thread, and the console takes a picture of it a few times a second
(``[console] refresh_hz``, 4 by default) and updates only the table cells that changed.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Footer, Input

from airwatch.config import SensorSettings, Settings
from airwatch.console import format as fmt
from airwatch.console.alarm import Alarm
from airwatch.console.picture import Feed, Picture
from airwatch.console.replay_feed import SPEEDS
from airwatch.console.screens import HelpScreen, JumpScreen
from airwatch.console.widgets.alert_log import AlertLog
from airwatch.console.widgets.contact_table import SORTS, ContactTable
from airwatch.console.widgets.detail import Detail
from airwatch.console.widgets.scope import Scope
from airwatch.console.widgets.status_bar import StatusBar

FLASH_S = 0.8


class AirwatchConsole(App[None]):
    CSS_PATH = "airwatch.tcss"
    TITLE = "airwatch"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("s", "cycle_sort", "Sort"),
        Binding("r", "reverse_sort", "Reverse sort", show=False),
        Binding("a", "acknowledge", "Ack"),
        Binding("A", "acknowledge_all", "Ack all visible", show=False),
        Binding("n", "next_unacked", "Next unacked alert", show=False),
        Binding("m", "mute", "Mute"),
        Binding("z", "zoom(-1)", "Zoom in", show=False),
        Binding("x", "zoom(1)", "Zoom out", show=False),
        Binding("f", "follow", "Follow selected on the scope", show=False),
        Binding("1", "focus_pane('contacts')", "Contacts pane", show=False),
        Binding("2", "focus_pane('alerts')", "Alert log pane", show=False),
        Binding("3", "focus_pane('detail')", "Detail pane", show=False),
        Binding("space", "pause", "Pause/resume replay", key_display="space"),
        Binding("plus", "speed(1)", "Replay faster", key_display="+", show=False),
        Binding("minus", "speed(-1)", "Replay slower", key_display="-", show=False),
        Binding("right_square_bracket", "step", "Step 1 s (replay)", key_display="]", show=False),
        Binding("right_curly_bracket", "next_alert", "Run to next alert (replay)", key_display="}", show=False),
        Binding("t", "jump", "Jump to time (replay)", show=False),
    ]

    def __init__(self, feed: Feed, settings: Settings | None = None, *, operator: str | None = None,
                 wall_clock: Callable[[], float] = time.time, alarm_clock: Callable[[], float] = time.monotonic,
                 start_feed: bool = True) -> None:
        super().__init__()
        self.feed = feed
        self.settings = settings or Settings()
        c = self.settings.console
        self.operator = operator or c.operator or _login()
        self.wall_clock = wall_clock
        self.alarm = Alarm(c.bell_repeat_s, c.mute_s, alarm_clock)
        self.start_feed = start_feed
        self.picture_: Picture | None = None
        self.selected: str | None = None
        self.flashes = 0  # visible flashes so far (tests read it)
        self.refreshes = 0
        self.refresh_seconds = 0.0  # time spent in refresh_picture (the benchmark reads it)

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ContactTable(id="contacts")
                yield AlertLog(id="alerts")
            with Vertical(id="right"):
                yield Scope(id="scope")
                yield Detail(id="detail")
        yield Input(placeholder="filter: part of an id, class (RID, NONCO, ADSB...), source or alert (ZONE...)",
                    id="filter")
        yield Footer()

    def on_mount(self) -> None:
        c = self.settings.console
        # The main screen's widgets, kept so the refresh reaches them under a modal screen too.
        self.table = table = self.query_one(ContactTable)
        self.log_pane = self.query_one(AlertLog)
        self.scope = self.query_one(Scope)
        self.detail = self.query_one(Detail)
        self.status = self.query_one(StatusBar)
        self.filter_box = self.query_one("#filter", Input)
        table.hide_after_s = c.hide_after_s
        self.scope.rings = c.range_rings_m
        self.filter_box.display = False
        table.focus()
        if self.start_feed:
            self.feed.start()
        self.refresh_picture()
        self.set_interval(1.0 / c.refresh_hz, self.refresh_picture)

    def on_unmount(self) -> None:
        if self.start_feed:
            self.feed.stop()

    # -- the refresh -------------------------------------------------------------------------

    @property
    def sensor(self) -> SensorSettings | None:
        pic = self.picture_
        if pic is not None:
            for s in pic.sensors.values():
                if s.lat is not None and s.lon is not None:
                    return s
        s = self.settings.sensor
        return s if s.lat is not None else None

    def refresh_picture(self) -> None:
        if not self.is_running or not hasattr(self, "table"):
            return
        try:
            self._refresh_picture()
        except NoMatches:  # closing: the widgets are already gone
            pass

    def _refresh_picture(self) -> None:
        t0 = time.perf_counter()
        pic = self.feed.picture()
        self.picture_ = pic
        threats = fmt.threats(pic.alerts)
        sensor = self.sensor
        table = self.table
        table.show(pic.tracks, threats, pic.now, sensor)
        self.selected = table.selected_id
        log = self.log_pane
        log.show(pic.alerts)
        by_id = {t.track_id: t for t in pic.tracks}
        self.scope.show(pic.tracks, sensor, pic.zones, self.selected)
        self.detail.show(by_id.get(self.selected or ""), pic.alerts, sensor, pic.now)
        if self.alarm.update(pic.alerts):
            self.ring()
        unacked = sum(1 for a in pic.alerts if not a.acknowledged)
        self.status.show(pic, self.alarm, unacked, self.wall_clock())
        self.set_class(self.alarm.active > 0 and not self.alarm.muted, "-alarm")
        self.refreshes += 1
        self.refresh_seconds += time.perf_counter() - t0

    def ring(self) -> None:
        self.bell()
        self.flashes += 1
        self.add_class("-flash")
        self.set_timer(FLASH_S, lambda: self.remove_class("-flash"))

    def on_contact_table_selected(self, message: ContactTable.Selected) -> None:
        self.selected = message.track_id
        pic = self.picture_
        if pic is None:
            return
        track = next((t for t in pic.tracks if t.track_id == message.track_id), None)
        self.scope.show(pic.tracks, self.sensor, pic.zones, self.selected)
        self.detail.show(track, pic.alerts, self.sensor, pic.now)

    # -- actions -----------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen([b for b in self.BINDINGS if isinstance(b, Binding)]))

    def action_filter(self) -> None:
        box = self.filter_box
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.table.filter = event.value
            self.refresh_picture()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.table.focus()
            if not event.value:
                event.input.display = False

    def action_clear_filter(self) -> None:
        box = self.filter_box
        box.value = ""
        box.display = False
        self.table.filter = ""
        self.table.focus()
        self.refresh_picture()

    def action_cycle_sort(self) -> None:
        table = self.table
        table.sort_mode = SORTS[(SORTS.index(table.sort_mode) + 1) % len(SORTS)]
        self.notify(f"sorted by {table.sort_mode}", timeout=2, markup=False)
        self.refresh_picture()

    def action_reverse_sort(self) -> None:
        table = self.table
        table.reverse = not table.reverse
        self.refresh_picture()

    def _targets(self) -> list[str]:
        """The alerts the acknowledge key means: the selected alert in the log, or the selected
        contact's unacknowledged alerts."""
        log = self.log_pane
        if self.focused is log:
            alert = log.alert(log.selected_id)
            return [alert.alert_id] if alert is not None and not alert.acknowledged else []
        pic = self.picture_
        if pic is None or self.selected is None:
            return []
        return [a.alert_id for a in pic.alerts if self.selected in a.track_ids and not a.acknowledged]

    def action_acknowledge(self) -> None:
        targets = self._targets()
        for alert_id in targets:
            self.feed.acknowledge(alert_id, self.operator)
        if targets:
            self.notify(f"acknowledged {len(targets)} alert(s) as {self.operator}", timeout=3, markup=False)

    def action_acknowledge_all(self) -> None:
        log = self.log_pane
        targets = [a.alert_id for a in log.alerts if not a.acknowledged]
        for alert_id in targets:
            self.feed.acknowledge(alert_id, self.operator)
        self.notify(f"acknowledged {len(targets)} alert(s) as {self.operator}", timeout=3, markup=False)

    def action_next_unacked(self) -> None:
        log = self.log_pane
        log.focus()
        log.next_unacked()

    def action_mute(self) -> None:
        if self.alarm.muted:
            self.alarm.unmute()
        else:
            self.alarm.mute()
        self.refresh_picture()

    def action_zoom(self, step: int) -> None:
        self.scope.zoom(step)

    def action_follow(self) -> None:
        scope = self.scope
        scope.follow = not scope.follow
        scope.refresh()

    def action_focus_pane(self, pane: str) -> None:
        self.query_one(f"#{pane}").focus()

    def _replay(self) -> bool:
        pic = self.picture_
        return pic is not None and pic.mode == "replay"

    def action_pause(self) -> None:
        pic = self.picture_
        if self._replay() and pic is not None and pic.replay is not None:
            self.feed.pause(not pic.replay.paused)
            pic.replay.paused = not pic.replay.paused
            self.refresh_picture()

    def action_speed(self, step: int) -> None:
        pic = self.picture_
        if not self._replay() or pic is None or pic.replay is None:
            return
        current = pic.replay.speed
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - current))
        speed = SPEEDS[min(max(i + step, 0), len(SPEEDS) - 1)]
        self.feed.set_speed(speed)
        pic.replay.speed = speed
        self.refresh_picture()

    def action_step(self) -> None:
        if self._replay():
            self.feed.pause(True)
            self.feed.step()

    def action_next_alert(self) -> None:
        if self._replay():
            self.feed.jump_next_alert()

    def action_jump(self) -> None:
        pic = self.picture_
        if not self._replay() or pic is None or pic.replay is None:
            return

        def done(when: float | None) -> None:
            if when is not None:
                self.feed.jump(when)

        self.push_screen(JumpScreen(pic.replay.start), done)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "operator"
