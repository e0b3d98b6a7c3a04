"""The Wi-Fi channel plan and the task that hops a monitor interface through it.

Remote ID must be on channel 6 (2.4 GHz: beacons and NaN) and channel 149 (5.8 GHz beacons), so
those *priority* channels are visited between every one of the others: with the defaults the
cycle is 6, 149, 1, 6, 149, 11, 6, 149, 36, ... and a drone on 6 or 149 waits at most one other
channel's dwell to be heard.  Each visit dwells ``priority_dwell_s`` on a priority channel and
``dwell_s`` on the others.

Hopping runs ``iw dev <interface> set channel <N>`` through an injectable runner (an async
function of the argument list returning the exit status and output).  ``set channel`` takes
2.4 GHz (1..14) and 5 GHz (32..177) channel numbers alike: iw reads a number up to 14 as 2.4 GHz
and a larger one as 5 GHz.  6 GHz channel numbers overlap both and would need
``iw dev <if> set freq <MHz>``; Remote ID is not sent there, so the plan does not offer it.
A channel the card refuses (a 2.4 GHz-only dongle asked for 149, a channel its regulatory domain
forbids) is dropped from the cycle after :data:`MAX_FAILURES` refusals in a row and the hopper
says so; when ``iw`` itself is missing the interface stays where it is, with a message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from airwatch.sources.settings import OTHER_CHANNELS, PRIORITY_CHANNELS, WifiSource

log = logging.getLogger(__name__)

#: Refusals in a row after which a channel is left out of the cycle.
MAX_FAILURES = 3
#: Seconds an ``iw`` call may take.
COMMAND_TIMEOUT_S = 5.0

Runner = Callable[[Sequence[str]], Awaitable[tuple[int, str]]]
Sleep = Callable[[float], Awaitable[None]]


def iw_set_channel(interface: str, channel: int) -> list[str]:
    """The command that tunes ``interface`` (2.4 and 5 GHz channel numbers alike)."""
    return ["iw", "dev", interface, "set", "channel", str(channel)]


@dataclass(frozen=True, slots=True)
class Hop:
    channel: int
    dwell_s: float


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    priority: tuple[int, ...] = PRIORITY_CHANNELS
    others: tuple[int, ...] = OTHER_CHANNELS
    priority_dwell_s: float = 0.5
    dwell_s: float = 0.2

    @classmethod
    def from_settings(cls, source: WifiSource) -> ChannelPlan:
        return cls(tuple(source.priority_channels), tuple(source.channels), source.priority_dwell_s,
                   source.dwell_s)

    def cycle(self) -> list[Hop]:
        """One round: the priority channels before each other channel (each channel once when
        there are only priority or only other channels)."""
        first = [Hop(c, self.priority_dwell_s) for c in self.priority]
        if not self.others:
            return first
        if not self.priority:
            return [Hop(c, self.dwell_s) for c in self.others]
        hops: list[Hop] = []
        for c in self.others:
            hops.extend(first)
            hops.append(Hop(c, self.dwell_s))
        return hops

    def hops(self) -> Iterator[Hop]:
        """The cycle, forever."""
        cycle = self.cycle()
        while cycle:
            yield from cycle

    def without(self, channel: int) -> ChannelPlan:
        return ChannelPlan(tuple(c for c in self.priority if c != channel),
                           tuple(c for c in self.others if c != channel), self.priority_dwell_s, self.dwell_s)

    @property
    def channels(self) -> tuple[int, ...]:
        return self.priority + tuple(c for c in self.others if c not in self.priority)


async def run_command(argv: Sequence[str]) -> tuple[int, str]:
    """Run ``argv``; (exit status, stdout and stderr).  ``FileNotFoundError`` if it is missing."""
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, f"no answer after {COMMAND_TIMEOUT_S:g} s"
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.kill()
        raise
    return proc.returncode or 0, out.decode("utf-8", "replace").strip()


class ChannelHopper:
    """Tunes ``interface`` through ``plan`` (or to its first channel only, when ``hop`` is off).

    ``current`` is the channel the interface was last tuned to (None before the first tuning
    succeeded); ``problem`` the last lasting thing the operator should know (a channel left out
    of the plan, iw missing), else None; ``dropped`` the channels left out.
    """

    def __init__(self, interface: str, plan: ChannelPlan, *, hop: bool = True, runner: Runner = run_command,
                 sleep: Sleep = asyncio.sleep, on_change: Callable[[int], None] | None = None) -> None:
        self.interface = interface
        self.plan = plan
        self.hop = hop
        self.runner = runner
        self.sleep = sleep
        self.on_change = on_change
        self.current: int | None = None
        self.problem: str | None = None
        self.dropped: list[int] = []
        self._failures: Counter[int] = Counter()
        self._primed: int | None = None

    async def start(self) -> bool | None:
        """Tune to the plan's first channel before the capture starts (so its contacts carry a
        channel); :meth:`run` then begins by dwelling there.  As :meth:`tune`."""
        first = self.plan.channels[:1]
        if not first:
            return False
        result = await self.tune(first[0])
        self._primed = first[0] if result else None
        return result

    async def run(self) -> None:
        """Hop until cancelled; returns early when hopping is off or impossible."""
        plan = self.plan
        primed, self._primed = self._primed, None
        if not self.hop:
            if primed is None:
                await self.start()
            return
        while True:
            cycle = plan.cycle()
            if not cycle:
                self.problem = (f"{self.interface} refused every channel of the plan; "
                                f"staying on {self.current if self.current is not None else 'its channel'}")
                log.warning("%s", self.problem)
                return
            for hop in cycle:
                if hop.channel in self.dropped:
                    continue
                result = True if hop.channel == primed else await self.tune(hop.channel)
                primed = None
                if result is None:  # iw is missing
                    return
                if result:
                    await self.sleep(hop.dwell_s)
                elif self._failures[hop.channel] >= MAX_FAILURES:
                    self.dropped.append(hop.channel)
                    plan = plan.without(hop.channel)
                    break  # a new cycle without it

    async def tune(self, channel: int) -> bool | None:
        """Tune to ``channel``: True if done, False if refused, None if ``iw`` cannot be run."""
        argv = iw_set_channel(self.interface, channel)
        try:
            status, output = await self.runner(argv)
        except FileNotFoundError:
            self.problem = f"{argv[0]} not found (apt install iw): not hopping, {self.interface} stays on its channel"
            log.warning("%s", self.problem)
            return None
        except OSError as e:
            status, output = -1, str(e)
        if status != 0:
            self._failures[channel] += 1
            what = output.splitlines()[-1] if output else f"exit status {status}"
            if self._failures[channel] >= MAX_FAILURES:
                self.problem = f"channel {channel} left out of the plan: {what}"
            log.info("%s: %s failed: %s", self.interface, " ".join(argv), what)
            return False
        self._failures[channel] = 0
        self.current = channel
        if self.on_change is not None:
            self.on_change(channel)
        return True
