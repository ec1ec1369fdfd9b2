"""LoopPressure: a turn starts at once on an idle loop; on a late loop it waits its place, in arrival
order, and still starts at least once every `longest_hold_s`; a cancelled waiter leaves the queue.

`late_s` bounds make the loop's state certain instead of timing it: `late_s=-1` counts every check
as late (the loop is always busy), a huge `late_s` counts every check as on time."""

from __future__ import annotations

import asyncio
import time

from trip_planner.core.loop_pressure import LoopPressure

ALWAYS_LATE = -1.0
NEVER_LATE = 1e9


async def test_on_an_idle_loop_a_turn_starts_at_once() -> None:
    pressure = LoopPressure()
    for _ in range(20):
        await pressure.calm()
    assert pressure.held == 0 and pressure.waiting == 0


async def test_on_a_busy_loop_turns_wait_and_start_in_arrival_order() -> None:
    pressure = LoopPressure(late_s=ALWAYS_LATE, check_every_s=0.001, longest_hold_s=0.02)
    started: list[int] = []

    async def turn(n: int) -> None:
        await pressure.calm()
        started.append(n)

    tasks = [asyncio.create_task(turn(n)) for n in range(6)]
    await asyncio.sleep(0.005)
    assert started == [] and pressure.waiting == 6  # held while every check finds the loop late
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert started == list(range(6))  # one at a time, at least every longest_hold_s, in order
    assert pressure.held == 6 and pressure.waiting == 0


async def test_a_busy_loop_still_starts_one_turn_per_longest_hold() -> None:
    pressure = LoopPressure(late_s=ALWAYS_LATE, check_every_s=0.001, longest_hold_s=0.03)
    started: list[float] = []

    async def turn() -> None:
        await pressure.calm()
        started.append(time.perf_counter())

    await asyncio.wait_for(asyncio.gather(*(turn() for _ in range(4))), 5)
    gaps = [later - earlier for earlier, later in zip(started, started[1:])]
    # Released by the guarantee alone (a late loop releases nothing else), never faster than it; the
    # margin is for the moment each task resumes after its release, late on a loaded machine.
    assert all(gap >= 0.03 * 0.5 for gap in gaps), gaps


async def test_when_the_loop_is_on_time_waiting_turns_are_let_go() -> None:
    pressure = LoopPressure(late_s=ALWAYS_LATE, check_every_s=0.001, longest_hold_s=60.0)
    waiting = [asyncio.create_task(pressure.calm()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert pressure.waiting == 3 and not any(task.done() for task in waiting)
    pressure.late_s = NEVER_LATE  # the loop catches up
    await asyncio.wait_for(asyncio.gather(*waiting), 5)
    assert pressure.waiting == 0


async def test_a_cancelled_waiter_leaves_the_queue_and_the_others_still_start() -> None:
    pressure = LoopPressure(late_s=ALWAYS_LATE, check_every_s=0.001, longest_hold_s=0.01)
    first, second, third = (asyncio.create_task(pressure.calm()) for _ in range(3))
    while pressure.waiting < 3:
        await asyncio.sleep(0)
    second.cancel()
    await asyncio.wait_for(asyncio.gather(first, third), 5)
    assert second.cancelled() and pressure.waiting == 0
