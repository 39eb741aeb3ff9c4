"""From the callable a framework routes to, to the view an editor should open: through
decorators (ARCHITECTURE.md "Route -> handler"), and when that cannot be seen from the
objects, by tracing one call.

Order: __wrapped__ (functools.wraps), functools.partial and bound methods; then the
functions a wrapper's closure (or a callable object's attributes) holds, recursively;
then, where that leaves a choice or nothing to go on, a ViewTrace of the route's first call
in the worker. A decorator's inner function is never the answer when anything else is.
"""
import functools
import inspect
import os
import sys
import sysconfig
import time

_CO_VARARGS = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
# The parameter a decorator names the function it wraps, in the wild.
_VIEW_PARAMETERS = frozenset(("f", "fn", "func", "function", "view", "view_func", "view_function", "viewfunc",
                              "wrapped", "handler", "callback", "method", "meth", "target"))
LIBRARY_DIRS = tuple({os.path.join(sysconfig.get_paths()[key], "") for key in ("stdlib", "platstdlib")})
SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")


def readable_name(obj):
    """Qualified name that reads well in a table.

    Functions nested in a class keep their class ("UserView.get"); a module-level function
    gets its module's last component ("views.user_detail"); "<locals>" steps of app
    factories are dropped ("create_app.index").
    """
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return readable(qualname, getattr(obj, "__module__", None) or "")


def readable(qualname, module):
    parts = [part for part in qualname.split(".") if part != "<locals>"]
    if len(parts) == 1 and module:
        parts.insert(0, module.rpartition(".")[2])
    return ".".join(parts)


def _class_based(obj):
    return getattr(obj, "view_class", None) is not None


def unwrap(obj):
    """Through functools.wraps (__wrapped__), partial and bound methods; not past the function
    of a class-based view (Django's as_view() sets __wrapped__ to View.dispatch)."""
    while True:
        obj = inspect.unwrap(obj, stop=_class_based)
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif inspect.ismethod(obj):
            obj = obj.__func__
        else:
            return obj


def looks_like_wrapper(code):
    """A nested function taking *args or **kwargs: how decorators' inner functions look
    (views take named arguments)."""
    return bool(code.co_freevars) and bool(code.co_flags & _CO_VARARGS)


class AppFiles:
    """Which source files are the app's: under its directory (or its package's), or
    anywhere but the standard library, site/dist-packages and the shim."""

    def __init__(self, roots):
        self._roots = tuple(os.path.join(os.path.abspath(root), "") for root in roots)
        self._known = {}

    def __contains__(self, filename):
        found = self._known.get(filename)
        if found is None:
            path = os.path.abspath(filename)
            # "<frozen importlib._bootstrap>", "<string>": no file, and abspath would put it under a root.
            found = not filename.startswith("<") and (path.startswith(self._roots) or not (
                path.startswith(LIBRARY_DIRS) or path.startswith(SHIM_DIR)
                or os.sep + "site-packages" + os.sep in path or os.sep + "dist-packages" + os.sep in path))
            self._known[filename] = found
        return found


def find_view(func, app_files, names=()):
    """(view, choices): the function behind a routed callable. `choices` lists the
    functions a wrapper holds when nothing tells which one is the view (trace a call to
    decide: ViewTrace); empty when `view` is the answer. `names`: names the view likely has
    (a Flask endpoint, a Django url name)."""
    target = unwrap(func)
    for _ in range(32):  # decorators stack a few deep; a cycle must not hang a request
        held = _held_functions(target, app_files)
        if not held:
            return target, ()
        chosen = _choose(target, held, app_files, names)
        if chosen is None:
            return target, tuple(function for _, function in held)
        target = chosen
    return target, ()


def _held_functions(wrapper, app_files):
    """(name, function) pairs a wrapper holds that could be the view: its closure cells (or a
    callable object's attributes), minus functions of the wrapper's own scope (an app
    factory's view may close over helpers defined beside it: those are not wrapped views)."""
    if inspect.isfunction(wrapper):
        pairs = []
        for name, cell in zip(wrapper.__code__.co_freevars, wrapper.__closure__ or ()):
            try:
                pairs.append((name, cell.cell_contents))
            except ValueError:  # an empty cell
                pass
        scope = (wrapper.__module__, wrapper.__qualname__.rpartition(".")[0] + ".")
    elif callable(wrapper) and not inspect.isclass(wrapper) and hasattr(wrapper, "__dict__"):
        pairs = list(vars(wrapper).items())  # a class-based decorator keeps the view as an attribute
        scope = None
    else:
        return []
    held = []
    for name, value in pairs:
        try:
            value = unwrap(value)
        except Exception:  # a proxy object (werkzeug's LocalProxy) can raise on any attribute
            continue
        if _class_based(value):  # as_view(): the view, whatever its file
            held.append((name, value))
        elif (inspect.isfunction(value) and value.__code__.co_filename in app_files
              and not (scope and value.__module__ == scope[0] and value.__qualname__.startswith(scope[1]))):
            held.append((name, value))
    return held


def _choose(wrapper, held, app_files, names):
    """The one held function that is the view, or None when the clues leave a choice."""
    candidates = held
    wrapper_file = getattr(getattr(wrapper, "__code__", None), "co_filename", None)
    clues = (
        lambda name, f: _class_based(f) or f.__code__.co_filename != wrapper_file,
        lambda name, f: f.__name__ in names,
        lambda name, f: name in _VIEW_PARAMETERS,
    )
    for clue in clues:
        if len(candidates) == 1:
            break
        narrowed = [(name, f) for name, f in candidates if clue(name, f)]
        if narrowed:
            candidates = narrowed
    return candidates[0][1] if len(candidates) == 1 else None


# A view that dispatches again (Radicale: Application.__call__ -> _handle_request -> getattr(self,
# "do_" + method)) hands its call to the function it dispatched to when that took most of its
# time. Measured on Radicale 3.1.8 with 2 000 items: PROPFIND __call__ 9.545 s, do_PROPFIND
# 9.537 s; GET 0.748 s, do_GET 0.746 s; OPTIONS 1 ms with do_OPTIONS under 0.5 ms, so a cheap
# route keeps the dispatcher (it is flagged for nothing). A helper the view dispatches to for
# less than half its time is not the view.
DISPATCH_SHARE = 0.5
# Construction is set-up, not a view: Radicale builds its Application on a worker's first
# request, and OPTIONS (cheap) was put at Application.__init__.
_SET_UP = frozenset(("__init__", "__new__", "__post_init__", "__init_subclass__"))


class ViewTrace:
    """One call followed with sys.setprofile (slow: only a route's first call per worker).

    With `choices`, the view is the one of those functions that ran longest. Without, the
    candidates are the app's own functions called from a `roots` frame (the WSGI callable, or
    a decorator's inner function we could not see into) other than by name: dispatched to, from
    a table, a getattr or an instance's __call__. A function called by name is plumbing: what it
    dispatches to counts as if the root had. The view is the candidate that ran longest, followed
    into the candidate it dispatched to when that took most of its time (DISPATCH_SHARE), and
    always out of a decorator's inner function.
    """

    __slots__ = ("key", "_roots", "_choices", "_app_files", "_starts", "_spent", "_modules", "_owner", "_parent", "_wrappers")

    def __init__(self, key, roots, app_files, choices=()):
        self.key = key
        self._roots = {code: code.co_names for code in roots}
        self._choices = {function.__code__ for function in choices}
        self._app_files = app_files
        self._starts = {}
        self._spent = {}  # code -> seconds
        self._modules = {}  # code -> module name
        self._owner = {}  # live frame -> the candidate code it runs under (None: the root's)
        self._parent = {}  # candidate code -> the candidate it was dispatched from, or None
        self._wrappers = set()

    def start(self):
        sys.setprofile(self._hook)

    def stop(self):
        sys.setprofile(None)

    def _hook(self, frame, event, _arg):
        if event == "call":
            if self._wanted(frame):
                self._starts[frame] = time.perf_counter()
        elif event == "return":
            self._owner.pop(frame, None)
            started = self._starts.pop(frame, None)
            if started is not None:
                code = frame.f_code
                self._spent[code] = self._spent.get(code, 0.0) + time.perf_counter() - started
                self._modules[code] = frame.f_globals.get("__name__", "")

    def _wanted(self, frame):
        """Whether to time this call (a candidate); plumbing is followed but not timed."""
        code = frame.f_code
        if self._choices:
            return code in self._choices
        # The cheap tests first: f_back makes a frame object (Python 3.11+), which tracemalloc
        # traces in a deep dive; a generator expression in the app resumed 300k times made 300k.
        if code.co_name.startswith("<") or code.co_filename not in self._app_files:
            return False
        parent = frame.f_back
        named = self._roots.get(parent.f_code) if parent is not None else None
        if named is None:
            return False
        owner = self._owner.get(parent)
        if code not in self._roots:
            self._roots[code] = code.co_names  # what it calls counts too
        if (code.co_name in named or code.co_name in _SET_UP) and code not in self._parent:
            self._owner[frame] = owner  # plumbing: called by name
            return False
        self._parent.setdefault(code, owner)
        self._owner[frame] = code
        if looks_like_wrapper(code):
            self._wrappers.add(code)
        return True

    def found(self):
        """(code, module) of the view, or None when no candidate ran."""
        if not self._spent:
            return None
        spent = self._spent
        if self._choices:
            view = max(spent, key=spent.get)
            return view, self._modules[view]
        tops = [code for code in spent if self._parent.get(code) is None] or list(spent)
        view = max(tops, key=spent.get)
        for _ in range(64):  # dispatch nests a few deep
            inner = [code for code in spent if self._parent.get(code) is view]
            if not inner:
                break
            best = max(inner, key=spent.get)
            if view not in self._wrappers and spent[best] < DISPATCH_SHARE * spent[view]:
                break
            view = best
        return view, self._modules[view]


class Handlers:
    """HandlerInfo dicts (qualname, file relative to the app directory, line of `def`)."""

    def __init__(self, cwd):
        self._cwd = os.path.abspath(cwd)
        self._cache = {}

    def of(self, target):
        """HandlerInfo of a function, class or callable object; None when it has no source."""
        if target is None:
            return None
        try:
            found = self._cache.get(target, False)
        except TypeError:  # unhashable callable object
            return self._describe(target)
        if found is False:
            found = self._cache[target] = self._describe(target)
        return found

    def _describe(self, target):
        try:
            if not (inspect.isfunction(target) or inspect.isclass(target)):
                target = unwrap(type(target).__call__)  # a callable object: its __call__ is the code
            path = inspect.getsourcefile(target) or inspect.getfile(target)
            try:
                line = _definition_line(*inspect.getsourcelines(target))
            except (OSError, TypeError):
                line = getattr(getattr(target, "__code__", None), "co_firstlineno", 0)
            return {"qualname": readable_name(target), "file": self.relative(path), "line": line}
        except Exception:
            return None

    def of_code(self, code, module):
        try:
            line = _definition_line(*inspect.getsourcelines(code))
        except (OSError, TypeError):
            line = code.co_firstlineno
        qualname = getattr(code, "co_qualname", code.co_name)  # co_qualname: Python 3.11+
        return {"qualname": readable(qualname, module), "file": self.relative(code.co_filename), "line": line}

    def relative(self, path):
        path = os.path.abspath(path)
        if path.startswith(self._cwd + os.sep):
            return os.path.relpath(path, self._cwd)
        return path


def _definition_line(lines, start):
    """The `def`/`class` line: getsourcelines starts at the first decorator (@app.route...),
    but the line that names the handler is the one an editor should point at."""
    for offset, text in enumerate(lines):
        stripped = text.lstrip()
        if stripped.startswith(("def ", "async def ", "class ")):
            return start + offset
    return start
