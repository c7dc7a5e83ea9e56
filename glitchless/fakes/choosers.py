"""Choice points of the deterministic scheduler.

When callbacks of several lanes (tasks, or whoever queued plain callbacks;
see glitchless.fakes.loop) are ready in the same tick, the loop asks its
chooser which lane runs its next callback: `choose(n)` with `n >= 2` returns
an index in `range(n)` into those lanes, ordered by when their next callback
was queued (so always answering 0 reproduces asyncio's own FIFO order). A
tick with a single ready lane asks nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Protocol


class Chooser(Protocol):
    """Picks which of `n` ready lanes runs its next callback."""

    def choose(self, n: int) -> int: ...


class FifoChooser:
    """Always the oldest ready callback: plain asyncio order."""

    def choose(self, n: int) -> int:
        return 0


class SeededChooser:
    """Pseudo-random choices from `random.Random(seed)`: same seed, same schedule, in any process."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def choose(self, n: int) -> int:
        return self._rng.randrange(n)


class FunctionChooser:
    """Delegates to a function, e.g. `lambda n: data.draw(st.integers(0, n - 1))` under Hypothesis."""

    def __init__(self, fn: Callable[[int], int]) -> None:
        self._fn = fn

    def choose(self, n: int) -> int:
        return self._fn(n)


class ReplayChooser:
    """Replays a given list of choices, then defers to `then` (FIFO by default).

    Every choice made, replayed or not, is recorded in `made`, with the number
    of options it was made among in `arities`: feed `made` back in to replay a
    schedule, or walk `arities` to enumerate the schedules next to it.
    """

    def __init__(self, choices: Iterable[int] = (), *, then: Chooser | None = None) -> None:
        self._script = list(choices)
        self._then: Chooser = then if then is not None else FifoChooser()
        self.made: list[int] = []
        self.arities: list[int] = []

    def choose(self, n: int) -> int:
        step = len(self.made)
        if step < len(self._script):
            index = self._script[step]
            if not 0 <= index < n:
                raise ValueError(f"replayed choice #{step} is {index}, but only {n} lanes are ready")
        else:
            index = self._then.choose(n)
        self.made.append(index)
        self.arities.append(n)
        return index
