"""Decorators as apps write them, for test_handlers.py (a module of their own, like a real
app's decorators.py)."""
import functools

_REGISTRY = {}


def plain(f):
    def new_f(*a, **k):
        return f(*a, **k)
    return new_f


def wrapped(f):
    @functools.wraps(f)
    def new_f(*a, **k):
        return f(*a, **k)
    return new_f


def _always():
    return True


def checked(check=_always):
    """A factory: the inner function holds the check and the view."""
    def deco(f):
        def new_f(*a, **k):
            if not check():
                return None
            return f(*a, **k)
        return new_f
    return deco


def cached(key_func):
    def deco(view_func):
        def new_f(*a, **k):
            key_func()
            return view_func(*a, **k)
        return new_f
    return deco


def both(first, second):
    """Holds two functions under names that say nothing: only a trace can tell."""
    def new_f(*a, **k):
        first()
        return second(*a, **k)
    return new_f


class Counted:
    """A class-based decorator without functools.update_wrapper."""

    def __init__(self, func):
        self.func = func
        self.calls = 0

    def __call__(self, *a, **k):
        self.calls += 1
        return self.func(*a, **k)


def registered(f):
    """Reaches the view through a registry: nothing in the closure to see."""
    _REGISTRY[id(f)] = f
    key = id(f)

    def new_f(*a, **k):
        return _REGISTRY[key](*a, **k)
    return new_f
