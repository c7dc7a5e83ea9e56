"""The reference model, and the node bodies the target and the model both run.

`effect_body` and `computed_body` are the only definition of what a generated
node does. They talk to an `Api` (read, write, dispose, log): the runner's Api
drives a real kernel, the model's drives `Model`. So both log the same events
in the same order when they agree, and the first event where the logs differ
is the first place the target breaks the contract.

`Model` is a plain evaluator of the contract (docs/kernel-contract.md and
the decisions of this round, S1-S8):

* computeds are pulled: a read re-validates sources in order and recomputes
  when a source's version moved (S6: computeds stay version-based); a new
  value equal to the old one (by `equals`, or `is`/`==`) keeps the version,
  so dependents are cut off (rule 1); an error is held and re-raised to every
  reader until an input changes (rule 6, S4);
* a changing write notifies the effects reachable through the current edges;
  a flush runs rounds over them in creation order, each effect only if a
  dependency's current value differs from the one it last read, by that
  dependency's equality (S6); effects' writes feed further rounds; past the
  round bound it raises RunawayEffectError (rule 5);
* errors of effects and cleanups are collected and raised once the flush is
  done (rule 6, S1); a new effect whose creation raises is disposed (S2);
  a disposed effect never runs again, not even a run its own cleanup was
  about to start (rule 7, S7); a disposed computed raises DisposedError to
  every later reader (S8).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from glitchless.properties.program import (
    AddComputed,
    AddEffect,
    AddSignal,
    Batch,
    Dispose,
    DisposeScope,
    Flush,
    FlushOrder,
    Misuse,
    NodeSpec,
    Read,
    ScopeCleanup,
    Set,
    Step,
    Track,
)

Event = tuple[Any, ...]
Key = tuple[Any, ...]
CALLER = -1


class Boom(Exception):
    """The exception generated fns, effects and cleanups raise."""


class Halt(BaseException):
    """The interrupt generated fns, effects, cleanups and equals raise: a BaseException that is not an
    Exception, standing for KeyboardInterrupt (S3, S5). Not KeyboardInterrupt itself, so that one
    that leaks is never taken for the user's Ctrl-C."""


class IntCopy(int):
    """An int equal to another but a different object (and type)."""

    def __repr__(self) -> str:
        return f"IntCopy({int(self)})"


class ModelDisposedError(Exception):
    """What the model holds for a disposed computed; keyed like the kernel's DisposedError. `node`:
    the disposed computed, which a kernel naming its nodes names in the message (its arguments)."""

    node: int | None = None


ModelDisposedError.__name__ = "DisposedError"


class ModelCycleError(Exception):
    """A read of a computed whose fn is running; `node` is that computed (the kernel's message names it)."""

    def __init__(self, node: int) -> None:
        super().__init__()
        self.node = node


ModelCycleError.__name__ = "CycleError"


class ModelRunaway(Exception):
    pass


ModelRunaway.__name__ = "RunawayEffectError"


class ModelReactiveError(Exception):
    """What entering a disposed scope raises; keyed like the kernel's ReactiveError."""


ModelReactiveError.__name__ = "ReactiveError"


class ModelWriteInComputedError(Exception):
    pass


ModelWriteInComputedError.__name__ = "WriteInComputedError"

STRICT_REFUSAL = "strict equality refuses floats"


def equal(kind: str | None, a: Any, b: Any) -> bool:
    """A node's equality; "strict" raises for floats (the set raises, S4)."""
    if a is b:
        return True
    if kind == "strict" and (isinstance(a, float) or isinstance(b, float)):
        raise TypeError(STRICT_REFUSAL)
    if kind in ("picky", "halting") and abs(a - b) == 2:
        # One constant message: errors are compared by type and arguments (rule 4).
        if kind == "halting":
            raise Halt("halting equality interrupted")
        raise ValueError("picky equality refuses values two apart")
    if kind == "parity":
        return bool(int(a) % 2 == int(b) % 2)
    return bool(a == b)


def strict_equals(a: Any, b: Any) -> bool:
    return equal("strict", a, b)


def parity_equals(a: Any, b: Any) -> bool:
    return equal("parity", a, b)


def picky_equals(a: Any, b: Any) -> bool:
    return equal("picky", a, b)


def halting_equals(a: Any, b: Any) -> bool:
    return equal("halting", a, b)


EQUALS: dict[str, Callable[[Any, Any], bool]] = {"strict": strict_equals, "parity": parity_equals,
                                                 "picky": picky_equals, "halting": halting_equals}


def error_key(exc: BaseException) -> Key:
    """An exception as compared: generated ones by message, the kernel's by type name."""
    return ("!", type(exc).__name__, str(exc) if isinstance(exc, Boom | Halt) else "")


def leaf_keys(exc: BaseException) -> tuple[Key, ...]:
    """Every leaf of an exception (groups flattened), sorted: what an operation raised."""
    if isinstance(exc, BaseExceptionGroup):
        return tuple(sorted(k for e in exc.exceptions for k in leaf_keys(e)))
    if isinstance(exc, ModelRaise):  # a flush inside a disposal inside the step: its errors are the step's
        return tuple(sorted(k for e in exc.errors for k in leaf_keys(e)))
    return (error_key(exc),)


def value_key(spec: NodeSpec, v: Any) -> Key:
    """A value as compared: a signal's by type and value (which object a signal keeps is decided
    at each write); a computed's by value only (S6 lets it recompute at other moments, and an
    equal new value keeps the old object); by parity class for parity nodes."""
    if isinstance(v, BaseException):
        return error_key(v)
    equals = None if isinstance(spec, AddEffect) else spec.equals
    if equals == "parity":
        return ("~", int(v) % 2)
    return ("=", v) if isinstance(spec, AddComputed) else (type(v).__name__, v)


def behind_parity(specs: list[NodeSpec], node: int) -> bool:
    """Is a parity computed upstream of `node`? (Its cached value is only known up to parity.)"""
    spec = specs[node]
    return isinstance(spec, AddComputed) and any(
        (isinstance(specs[i], AddComputed) and specs[i].equals == "parity") or behind_parity(specs, i)  # type: ignore[union-attr]
        for i in spec.inputs)


def near_cycle(specs: list[NodeSpec], node: int) -> bool:
    """Does `node` read, at any depth, a computed that reads a later node (maybe a cycle)? A computed
    whose read met a cycle keeps that CycleError until an input it did record changes."""
    spec = specs[node]
    return isinstance(spec, AddComputed) and (spec.later is not None or any(
        near_cycle(specs, i) for i in spec.inputs + ((spec.hidden,) if spec.hidden is not None else ())))


def read_key(specs: list[NodeSpec], node: int, v: Any, how: str) -> Key:
    """A read's value as compared. A foreign thread evaluates a stale computed afresh (rule 9), where the
    owner keeps a value a parity computed upstream cut off, or the error of a cycle met once: behind
    either, its value is not compared."""
    if how == "thread" and (behind_parity(specs, node) or near_cycle(specs, node)):
        return ("?",)
    return value_key(specs[node], v)


def unchecked_read(specs: list[NodeSpec], step: Read) -> bool:
    """A foreign read behind a parity computed or near a cycle: neither its value nor its error is compared
    (see read_key)."""
    return step.how == "thread" and (behind_parity(specs, step.node) or near_cycle(specs, step.node))


def try_read(read: Callable[[], Any]) -> None:
    try:
        read()
    except Exception:
        pass


def apply(fn: str, arity: int, read: Callable[[int], Any], modulus: int) -> Any:
    """Evaluate `fn` over `arity` inputs, calling `read(i)` only for the inputs it looks at."""
    if fn == "sum":
        return sum(read(i) for i in range(arity)) % modulus
    if fn == "parity":
        return sum(read(i) for i in range(arity)) % 2
    if fn == "max":
        return max(read(i) for i in range(arity))
    if fn == "min":
        return min(read(i) for i in range(arity))
    if fn == "if":
        return read(1) if read(0) else read(2)
    if fn == "coalesce":
        for i in range(arity):
            v = read(i)
            if v:
                return v
        return 0
    raise ValueError(f"unknown function {fn!r}")


class Api(Protocol):
    domain: int
    specs: list[NodeSpec]

    def log(self, event: Event) -> None: ...
    def read(self, by: int, node: int, how: str = "get") -> Any: ...
    def write(self, signal: int, value: Any) -> None: ...
    def dispose(self, node: int) -> None: ...
    def on_cleanup(self, node: int, fn: Callable[[], None]) -> None: ...
    def current(self, node: int) -> bool: ...


def _read_hidden(api: Api, node: int, spec: AddComputed | AddEffect) -> None:
    """The read that must not subscribe (peek, `with rt.untracked():`, a foreign thread); its error is ignored."""
    if spec.hidden is not None:
        try:
            api.read(node, spec.hidden, spec.hidden_how)
        except Exception:
            pass


def computed_body(api: Api, node: int, spec: AddComputed) -> Callable[[], Any]:
    def body() -> Any:
        api.log(("crun", node))
        _read_hidden(api, node, spec)
        result = apply(spec.fn, len(spec.inputs), lambda i: api.read(node, spec.inputs[i]), api.domain)
        if result == spec.fails:
            raise Boom(f"c{node} failed")
        if result == spec.halts:
            raise Halt(f"c{node} interrupted")
        later = spec.later
        if later is not None and later < len(api.specs) and not isinstance(api.specs[later], AddEffect):
            api.read(node, later)
        return result

    return body


def effect_body(api: Api, node: int, spec: AddEffect) -> Callable[[], Callable[[], None] | None]:
    def cleanup_of(result: Any) -> Callable[[], None]:
        def cleanup() -> None:
            api.log(("cleanup", node))
            try:
                if spec.cleanup_disposes is not None:
                    api.log(("dispose", node, spec.cleanup_disposes))
                    api.dispose(spec.cleanup_disposes)
                if spec.cleanup_raises and int(result) % 2:
                    raise Boom(f"cleanup of e{node} failed")
                if spec.cleanup_halts and not int(result) % 2:
                    raise Halt(f"cleanup of e{node} interrupted")
            except (Exception, Halt) as exc:
                api.log(("cleanup-raised", node, leaf_keys(exc)))
                raise

        return cleanup

    def body() -> Callable[[], None] | None:
        api.log(("run", node))
        seen: list[Any] = []  # this run's result, once it has one

        def registered() -> None:
            api.log(("on-cleanup", node))
            if spec.cleanup_raises and seen and int(seen[0]) % 2:  # with the returned one: two cleanups fail
                api.log(("cleanup-raised", node, leaf_keys(Boom(f"on_cleanup fn of e{node} failed"))))
                raise Boom(f"on_cleanup fn of e{node} failed")

        try:
            if spec.on_cleanup:
                api.on_cleanup(node, registered)
            if spec.current:
                api.log(("current", node, api.current(node)))
            _read_hidden(api, node, spec)
            result = apply(spec.fn, len(spec.inputs), lambda i: api.read(node, spec.inputs[i]), api.domain)
            seen.append(result)
            if spec.untracked is not None:
                api.read(node, spec.untracked, "untracked")
            w = spec.write
            if w is not None:
                value: Any = w.value
                if w.kind != "const":
                    current = int(api.read(node, w.target))
                    value = min(current + (w.kind == "count"), w.value)
                api.log(("write", node, w.target, value))
                api.write(w.target, value)
            if spec.disposes is not None:
                api.log(("dispose", node, spec.disposes))
                api.dispose(spec.disposes)
            if result == spec.fails:
                raise Boom(f"e{node} failed")
            if result == spec.halts:
                raise Halt(f"e{node} interrupted")
        except (Exception, Halt) as exc:
            api.log(("raised", node, leaf_keys(exc)))
            raise
        api.log(("end", node))
        return cleanup_of(result) if spec.cleanup else None

    return body


_UNSET: Any = object()


class ModelRaise(Exception):
    """An operation of the model raised these exceptions (flattened)."""

    def __init__(self, errors: list[BaseException]) -> None:
        super().__init__(errors)
        self.errors = errors


class Model:
    """The graph's state under the contract. `step(step)` returns the events and outcome it expects."""

    def __init__(self, domain: int, max_rounds: int | None = 100) -> None:
        self.domain = domain
        self.max_rounds = max_rounds if max_rounds is not None else 10_000
        self.specs: list[NodeSpec] = []
        self.value: list[Any] = []  # signals: the object held; computeds: cached value or exception
        self.version: list[int] = []
        self.deps: list[list[tuple[int, Any]]] = []  # computed: (source, version); effect: (source, value read)
        self.disposed: set[int] = set()
        self.cleanups: dict[int, Callable[[], None]] = {}
        self.bodies: list[Callable[[], Any] | None] = []
        self.pending: list[int] = []
        self.queued: set[int] = set()  # effects of the running round not yet reached
        self.depth = 0  # batch depth; effect runs count as a batch
        self.events: list[Event] = []
        self.states: list[tuple[dict[int, Any], frozenset[int]]] = []  # (signals, disposed) at each change
        self.changes: list[int] = []  # changing writes per signal (laziness checks)
        self.dirty: set[int] = set()  # effects a Halt interrupted: they run at the next flush, unchecked (S3)
        self.interrupted: set[int] = set()  # computeds a Halt interrupted: the next read re-runs fn (S5)
        self.halted: set[int] = set()  # computeds a Halt interrupted in this step (laziness checks)
        self.named = False  # the kernel names nodes: two disposal errors are equal only for one computed
        self.running: set[int] = set()  # computeds whose fn is running: reading one is a cycle
        self.registered: dict[int, list[Callable[[], None]]] = {}  # effect -> its rt.on_cleanup fns
        self.scope_owned: dict[int, list[int]] = {}  # scope -> nodes created in it; -1 - i: its cleanup i
        self.scope_cleanups = 0  # rt.on_cleanup fns registered on scopes so far
        self.raising_cleanups: set[int] = set()  # which of them raise
        self.scopes_disposed: set[int] = set()
        self.order: dict[int, int] = {}  # effect -> the order rt.set_flush_order gave it
        self.isolated = False  # evaluating for a foreign thread's read (rule 9)
        self.runs: dict[int, int] = {}  # computed -> how often its fn ran in this step

    # -- Api ------------------------------------------------------------------

    def log(self, event: Event) -> None:
        if event[0] != "crun":
            self.events.append(event)
        elif not self.isolated:  # a foreign evaluation caches nothing: not a run (rule 9)
            self.runs[event[1]] = self.runs.get(event[1], 0) + 1

    def read(self, by: int, node: int, how: str = "get") -> Any:
        tracked = how == "get" and by != CALLER
        v = self.outcome(node) if how != "thread" else self.foreign(node)
        spec = self.specs[node]
        if tracked and isinstance(self.specs[by], AddComputed):
            if node not in [d for d, _ in self.deps[by]]:
                self.deps[by].append((node, self.version[node]))
        elif by == CALLER or not isinstance(self.specs[by], AddComputed):  # a computed's untracked reads: not logged
            if tracked and node not in [d for d, _ in self.deps[by]]:
                self.deps[by].append((node, v))
            self.log(("read", by, node, read_key(self.specs, node, v, how)))
        if isinstance(v, BaseException):
            raise v
        return v

    def on_cleanup(self, node: int, fn: Callable[[], None]) -> None:
        self.registered.setdefault(node, []).append(fn)

    def current(self, node: int) -> bool:
        return True

    def foreign(self, node: int) -> Any:
        """Rule 9: a foreign thread's read caches nothing. (Evaluated here with caching, then undone: it
        differs from the kernel's uncached evaluation only behind a parity computed, see `read_key`.)"""
        saved = (list(self.value), list(self.version), [list(d) for d in self.deps], set(self.interrupted))
        isolated, self.isolated = self.isolated, True  # nothing cached there: no equals call either
        try:
            return self.outcome(node)
        finally:
            self.value, self.version, self.deps, self.interrupted = saved
            self.isolated = isolated  # (a foreign read inside a foreign evaluation: still isolated)

    def take_cleanups(self, effect: int) -> list[Callable[[], None]]:
        """Rule 4: the rt.on_cleanup fns in registration order, the returned cleanup last."""
        returned = self.cleanups.pop(effect, None)
        return self.registered.pop(effect, []) + ([returned] if returned is not None else [])

    def write(self, signal: int, value: Any) -> None:
        old = self.value[signal]
        if equal(_equals(self.specs[signal]), old, value):
            return
        self.value[signal] = value
        self.version[signal] += 1
        self.changes[signal] += 1
        self.states.append(self.state())
        self.notify(signal)

    def dispose(self, node: int) -> None:
        if node in self.disposed:
            return
        self.disposed.add(node)
        self.dirty.discard(node)
        self.states.append(self.state())
        if isinstance(self.specs[node], AddEffect):
            self.pending = [e for e in self.pending if e != node]
            self.deps[node] = []
            errors: list[BaseException] = []
            for cleanup in self.take_cleanups(node):
                try:
                    cleanup()
                except Exception as exc:
                    errors.append(exc)
            if len(errors) == 1:
                raise errors[0]
            if errors:
                raise ModelRaise(errors)
            return
        # Only an observed computed (an effect downstream) is subscribed to in the kernel (S9): only
        # its disposal is news that flushes, and with it anything a runaway left pending.
        had_subs = self.observed(node)
        self.value[node] = ModelDisposedError()
        self.value[node].node = node
        self.version[node] += 1
        self.notify(node)
        self.deps[node] = []
        if had_subs:
            self.flush_if_idle()

    # -- evaluation -------------------------------------------------------------

    def state(self) -> tuple[dict[int, Any], frozenset[int]]:
        signals = {n: self.value[n] for n, s in enumerate(self.specs) if isinstance(s, AddSignal)}
        return signals, frozenset(self.disposed)

    def outcome(self, node: int) -> Any:
        """A node's current value or exception, recomputing computeds as a pull-based kernel does."""
        spec = self.specs[node]
        if node in self.running and node not in self.disposed:
            raise ModelCycleError(node)
        if isinstance(spec, AddComputed) and node not in self.disposed:
            fresh = self.value[node] is not _UNSET and node not in self.interrupted
            for src, seen in self.deps[node] if fresh else []:
                self.outcome(src)
                if self.version[src] != seen:
                    fresh = False
                    break
            if not fresh:
                self.recompute(node, spec)
        return self.value[node]

    def recompute(self, node: int, spec: AddComputed) -> None:
        body = self.bodies[node]
        assert body is not None
        old = self.value[node]
        old_deps = self.deps[node]
        self.deps[node] = []
        self.running.add(node)
        try:
            try:
                new = body()
            finally:
                self.running.discard(node)
            changed = (old is _UNSET or isinstance(old, BaseException) or self.isolated
                       or not equal(spec.equals, old, new))
        except Exception as exc:  # its fn's error, or its equals' (S4)
            self.interrupted.discard(node)
            self.value[node] = exc
            self.version[node] += 1
            return
        except Halt:
            self.interrupted_run(node, old_deps)
            raise
        self.interrupted.discard(node)
        if changed:
            self.value[node] = new
            self.version[node] += 1

    def interrupted_run(self, node: int, old_deps: list[tuple[int, Any]]) -> None:
        """S5: a Halt left the computed dirty: its value stays, its next read re-runs fn. It stays
        subscribed to what it read before as well as to what this run read."""
        self.interrupted.add(node)
        self.halted.add(node)
        read = [d for d, _ in self.deps[node]]
        self.deps[node] += [(d, v) for d, v in old_deps if d not in read]

    def pure(self, node: int, state: tuple[dict[int, Any], frozenset[int]]) -> Any:
        """A node's value computed afresh in `state` (no caches): what a glitch-free read sees."""
        spec = self.specs[node]
        if isinstance(spec, AddSignal):
            return state[0][node]
        if node in state[1] or not isinstance(spec, AddComputed):
            return ModelDisposedError()

        def read(i: int) -> Any:
            v = self.pure(spec.inputs[i], state)
            if isinstance(v, BaseException):
                raise v
            return v

        try:
            result = apply(spec.fn, len(spec.inputs), read, self.domain)
        except (Exception, Halt) as exc:
            return exc
        if result == spec.fails:
            return Boom(f"c{node} failed")
        return Halt(f"c{node} interrupted") if result == spec.halts else result

    def subscribers(self, node: int) -> list[int]:
        return [m for m, deps in enumerate(self.deps) if m not in self.disposed and any(d == node for d, _ in deps)]

    def observed(self, node: int) -> bool:
        seen, todo = {node}, [node]
        while todo:
            for m in self.subscribers(todo.pop()):
                if isinstance(self.specs[m], AddEffect):
                    return True
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        return False

    def notify(self, node: int) -> None:
        """Queue the effects reachable from `node` through current edges (not those of the running round)."""
        seen = {node}
        todo = [node]
        while todo:
            for m in self.subscribers(todo.pop()):
                if m in seen:
                    continue
                seen.add(m)
                if isinstance(self.specs[m], AddEffect):
                    if m not in self.queued and m not in self.pending:
                        self.pending.append(m)
                else:
                    todo.append(m)

    def stale(self, effect: int) -> bool:
        """S6: does a dependency's current value differ from the one the effect last read?"""
        for src, seen in self.deps[effect]:
            now = self.outcome(src)
            if isinstance(now, BaseException) or isinstance(seen, BaseException):
                if not (isinstance(now, BaseException) and isinstance(seen, BaseException)
                        and error_key(now) == error_key(seen)
                        and (not self.named or getattr(now, "node", None) == getattr(seen, "node", None))):
                    return True
            elif not equal(_equals(self.specs[src]), seen, now):
                return True
        return False

    # -- effects ------------------------------------------------------------------

    def run(self, effect: int, errors: list[BaseException]) -> bool:
        """One run: its cleanup, then (unless that disposed it, S7) its body. False if the body raised."""
        self.dirty.discard(effect)
        cleanups = self.take_cleanups(effect)
        for k, cleanup in enumerate(cleanups):
            try:
                cleanup()
            except Exception as exc:
                errors.append(exc)  # S1: the body still runs
            except Halt:
                self.registered[effect] = cleanups[k + 1 :]  # S3: the rest still run, later, with the run
                self.dirty.add(effect)
                raise
        if effect in self.disposed:
            return True
        body = self.bodies[effect]
        assert body is not None
        self.deps[effect] = []
        self.depth += 1
        try:
            result = body()
        except Exception as exc:
            errors.append(exc)
            return False
        except Halt:
            self.dirty.add(effect)
            raise
        finally:
            self.depth -= 1
        if result is not None:
            if effect in self.disposed:  # disposed during its own run: the new cleanup runs at once
                try:
                    result()
                except Exception as exc:
                    errors.append(exc)
            else:
                self.cleanups[effect] = result
        return True

    def flush(self, errors: list[BaseException]) -> None:
        rounds = 0
        self.depth += 1
        try:
            while self.pending:
                rounds += 1
                if rounds > self.max_rounds:
                    errors.append(ModelRunaway())
                    return
                queue = sorted(self.pending, key=self.flush_key)
                self.pending = []
                self.queued = set(queue)
                for k, e in enumerate(queue):
                    self.queued.discard(e)
                    try:
                        if e in self.disposed:
                            continue
                        if e not in self.dirty:
                            try:
                                changed = self.stale(e)
                            except Exception as exc:  # an equals that raised: reported, the effect settles
                                errors.append(exc)
                                # with its other sources brought up to date, so later writes still reach it
                                for src, _ in self.deps[e]:
                                    self.outcome(src)
                                continue
                            if not changed:
                                continue
                        self.run(e, errors)
                    except Halt:
                        # S3: it propagates at once; what it cut short runs at the next flush.
                        rest = [x for x in queue[k:] if x not in self.disposed]
                        self.pending = rest + [x for x in self.pending if x not in rest]
                        raise
        finally:
            self.queued = set()
            self.depth -= 1

    def flush_key(self, effect: int) -> tuple[int, int]:
        """Set orders (all negative) first, then the rest in creation order."""
        return (0, self.order[effect]) if effect in self.order else (1, effect)

    def flush_if_idle(self) -> None:
        if self.depth == 0 and self.pending:
            errors: list[BaseException] = []
            self.flush(errors)
            if errors:
                raise ModelRaise(errors)

    # -- steps ----------------------------------------------------------------------

    def step(self, step: Step) -> tuple[list[Event], tuple[Key, ...]]:
        """Apply one top-level step; return the events a correct kernel logs and what it raises."""
        self.events = []
        self.runs = {}
        self.states = [self.state()]
        self.halted = set(self.interrupted)
        try:
            self.execute(step)
        except ModelRaise as raised:
            return self.events, tuple(sorted(k for e in raised.errors for k in leaf_keys(e)))
        except (Exception, Halt) as exc:
            return self.events, leaf_keys(exc)
        return self.events, ()

    def execute(self, step: Step) -> None:
        if isinstance(step, AddSignal | AddComputed | AddEffect):
            self.add(step)
        elif isinstance(step, Set) and step.mode in ("thread", "thread_update"):
            raise ModelReactiveError("a write from a foreign thread, and no scheduler to hand it to")
        elif isinstance(step, Set):
            old = self.value[step.signal]
            value = {"same": old, "copy": IntCopy(step.value), "float": float(step.value)}.get(step.mode, step.value)
            self.write(step.signal, value)
            # Any set outside a batch flushes, even an equal one: it runs what a runaway or an
            # interrupted flush left pending (S3), and nothing when nothing is.
            self.flush_if_idle()
        elif isinstance(step, Read) and unchecked_read(self.specs, step):
            try_read(lambda: self.read(CALLER, step.node, step.how))
        elif isinstance(step, Read):
            self.read(CALLER, step.node, step.how)
        elif isinstance(step, Dispose):
            self.dispose(step.node)
        elif isinstance(step, DisposeScope | ScopeCleanup | FlushOrder | Track | Flush):
            self.execute_op(step)
        elif isinstance(step, Misuse):  # refused before it touches the graph
            raise {"cleanup_outside": ModelReactiveError, "cleanup_not_callable": TypeError, "cancel_sync": TypeError,
                   "write_in_computed": ModelWriteInComputedError,
                   "dispose_while_running": ModelDisposedError}[step.kind]()
        else:
            self.depth += 1
            try:
                for inner in step.steps:
                    self.execute(inner)
            finally:
                self.depth -= 1
                self.flush_if_idle()  # a flush error replaces the one that left the batch, as in Python

    def execute_op(self, step: DisposeScope | ScopeCleanup | FlushOrder | Track | Flush) -> None:
        if isinstance(step, FlushOrder):
            self.order[step.effect] = step.order
        elif isinstance(step, Flush):
            self.flush_if_idle()
        elif isinstance(step, Track):
            self.track(step)
        elif isinstance(step, ScopeCleanup):
            i = self.scope_cleanups
            self.scope_cleanups += 1
            if step.scope in self.scopes_disposed:
                raise ModelReactiveError("a disposed scope was entered")
            self.scope_owned.setdefault(step.scope, []).append(-1 - i)
            if step.raises:
                self.raising_cleanups.add(i)
        else:
            self.dispose_scope(step.scope)

    def track(self, step: Track) -> None:
        """rt.track: the step's reads replace the effect's dependencies; its write waits for the next flush."""
        self.deps[step.effect] = []
        self.depth += 1
        try:
            v = self.read(step.effect, step.node)
            if step.sets is not None:
                self.write(step.sets, step.value)
        finally:
            self.depth -= 1
        self.log(("tracked", step.effect, value_key(self.specs[step.node], v)))

    def dispose_scope(self, scope: int) -> None:
        """Rule 7: everything created in it, and its cleanups, newest first; then the flush."""
        if scope in self.scopes_disposed:
            return
        self.scopes_disposed.add(scope)
        errors: list[BaseException] = []
        self.depth += 1
        try:
            for node in reversed(self.scope_owned.pop(scope, [])):
                if node < 0:
                    self.log(("scope-cleanup", scope, -1 - node))
                    if -1 - node in self.raising_cleanups:
                        errors.append(Boom(f"cleanup #{-1 - node} failed"))
                else:
                    self.dispose_collecting(node, errors)
        finally:
            self.depth -= 1
        if self.depth == 0 and self.pending:
            self.flush(errors)
        if errors:
            raise ModelRaise(errors)

    def add(self, spec: NodeSpec) -> None:
        node = len(self.specs)
        self.specs.append(spec)
        self.version.append(0)
        self.deps.append([])
        self.changes.append(0)
        if isinstance(spec, AddSignal):
            self.value.append(spec.init)
            self.bodies.append(None)
            return
        self.value.append(_UNSET)
        if spec.scope is not None:
            self.scope_owned.setdefault(spec.scope, []).append(node)
        if isinstance(spec, AddComputed):
            self.bodies.append(computed_body(self, node, spec))
            return
        self.bodies.append(effect_body(self, node, spec))
        errors: list[BaseException] = []
        try:
            ok = self.run(node, errors)
            if not ok:
                self.dispose_collecting(node, errors)  # S2: its own first run raised
            if self.pending:
                self.flush(errors)
        except Halt:
            try:  # S2 and S3: the new effect is disposed, the interrupt propagates
                self.dispose(node)
            except Exception:
                pass
            raise
        if errors:
            self.dispose_collecting(node, errors)  # S2: the flush after it failed
            raise ModelRaise(errors)

    def dispose_collecting(self, node: int, errors: list[BaseException]) -> None:
        try:
            self.dispose(node)
        except Exception as exc:
            errors.append(exc)


def _equals(spec: NodeSpec) -> str | None:
    return None if isinstance(spec, AddEffect) else spec.equals
