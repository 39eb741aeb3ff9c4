"""Route template and handler of a request, per framework (ARCHITECTURE.md "Route -> handler").

Resolution runs after the request (outside its memory figures) and is cached per
(method, path), so a warm route costs one dict lookup. Any failure resolves to the folded
path with no handler: profiling must never break a request.
"""
import functools
import inspect
import os
import re
import sys
import time

UNMATCHED = "<unmatched>"
_CACHE_LIMIT = 4096
_INT_SEGMENT = re.compile(r"^\d+$")
_ID_SEGMENT = re.compile(r"^(?:[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})$")
_REGEX_ANCHOR = re.compile(r"(?:^|(?<=/))\^")


def fold_path(path):
    """"/users/42/orders/9f86d081884c7d65" -> "/users/<int>/orders/<id>": group raw paths by shape."""
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if _INT_SEGMENT.match(segment):
            segments[i] = "<int>"
        elif len(segment) >= 16 and _ID_SEGMENT.match(segment):
            segments[i] = "<id>"
    return "/".join(segments)


def readable_name(obj):
    """Qualified name that reads well in a table.

    Functions nested in a class keep their class ("UserView.get"); a module-level function
    gets its module's last component ("views.user_detail"); "<locals>" steps of app
    factories are dropped ("create_app.index").
    """
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return _readable(qualname, getattr(obj, "__module__", None) or "")


def _readable(qualname, module):
    parts = [part for part in qualname.split(".") if part != "<locals>"]
    if len(parts) == 1 and module:
        parts.insert(0, module.rpartition(".")[2])
    return ".".join(parts)


def _callable_code(app):
    """Code object that runs when the WSGI server calls `app` (None if not Python code)."""
    target = inspect.unwrap(app)
    if inspect.ismethod(target):
        target = target.__func__
    if not inspect.isfunction(target):
        target = getattr(type(target), "__call__", None)
    return getattr(target, "__code__", None)


class DispatchTrace:
    """Plain WSGI: the function the callable dispatched to. Of the functions called straight
    from the callable's frame and defined in the app's files, it takes those the callable does
    not name in its code (reached through a routing table: `handler = ROUTES[path];
    handler(environ)`, not a helper called by name), and of those the one that ran longest.
    Runs on one request per route (sys.setprofile is slow), then the answer is cached."""

    __slots__ = ("key", "_app_code", "_prefix", "_starts", "best")

    def __init__(self, key, app_code, cwd):
        self.key = key
        self._app_code = app_code
        self._prefix = cwd + os.sep
        self._starts = {}
        self.best = None  # (seconds, code, module)

    def start(self):
        sys.setprofile(self._hook)

    def stop(self):
        sys.setprofile(None)

    def _hook(self, frame, event, _arg):
        if event == "call":
            code = frame.f_code
            parent = frame.f_back
            if (parent is not None and parent.f_code is self._app_code and not code.co_name.startswith("<")
                    and code.co_name not in self._app_code.co_names and code.co_filename.startswith(self._prefix)):
                self._starts[frame] = time.perf_counter()
        elif event == "return":
            started = self._starts.pop(frame, None)
            if started is not None:
                took = time.perf_counter() - started
                if self.best is None or took > self.best[0]:
                    self.best = (took, frame.f_code, frame.f_globals.get("__name__", ""))


class RouteResolver:
    def __init__(self, loaded, cwd):
        self._app = loaded.app
        self._cwd = os.path.abspath(cwd)
        self._routes = {}  # (method, path) -> (route, HandlerInfo | None)
        self._handlers = {}  # callable -> HandlerInfo | None
        self._resolve = {
            "django": self._django,
            "flask": self._flask,
            "pyramid": self._pyramid,
        }.get(loaded.framework, self._wsgi)
        self._pyramid_views = None
        # Plain WSGI: (method, folded route) -> HandlerInfo of the dispatch target, or None.
        self._dispatch = {}
        self._app_code = _callable_code(self._app) if self._resolve == self._wsgi else None

    def resolve(self, environ):
        """(route template, HandlerInfo dict or None) of a finished request."""
        key = (environ["REQUEST_METHOD"], environ["PATH_INFO"])
        found = self._routes.get(key)
        if found is None:
            try:
                found = self._resolve(environ)
            except Exception:
                found = (fold_path(key[1]), None)
            if len(self._routes) >= _CACHE_LIMIT:
                self._routes.clear()  # many distinct raw paths (plain WSGI): start over, stay bounded
            self._routes[key] = found
        return found

    # -- per framework ------------------------------------------------------------------

    def _flask(self, environ):
        from werkzeug.exceptions import HTTPException

        app = self._app
        try:
            # create_url_adapter honours SERVER_NAME and subdomain matching like Flask does.
            adapter = app.create_url_adapter(app.request_class(environ))
            rule, _ = adapter.match(return_rule=True)
        except HTTPException:  # NotFound, MethodNotAllowed, RequestRedirect
            return UNMATCHED, None
        return rule.rule, self.handler(app.view_functions.get(rule.endpoint))

    def _django(self, environ):
        from django.urls import Resolver404, resolve

        try:
            match = resolve(environ["PATH_INFO"])
        except Resolver404:
            return UNMATCHED, None
        route = getattr(match, "route", None)
        # re_path routes are regexes: drop the anchors so "^articles/(?P<y>..)/$" reads as a path.
        route = "/" + _REGEX_ANCHOR.sub("", route).rstrip("$") if route is not None else fold_path(environ["PATH_INFO"])
        return route, self._django_view(match.func, environ["REQUEST_METHOD"].lower())

    def _django_view(self, func, method):
        view_class = getattr(func, "view_class", None) or getattr(func, "cls", None)
        if view_class is None:
            return self.handler(func)
        actions = getattr(func, "actions", None)  # Django REST framework viewsets
        name = actions.get(method) if actions else method
        if name == "head" and not hasattr(view_class, "head"):
            name = actions.get("get") if actions else "get"  # View.setup() serves HEAD with get
        method_func = getattr(view_class, name, None) if name else None
        return self.handler(method_func if callable(method_func) else view_class)

    def _pyramid(self, environ):
        app = self._app
        request = app.request_factory(dict(environ))
        request.registry = app.registry
        route = app.routes_mapper(request)["route"] if app.routes_mapper is not None else None
        if route is None:  # traversal or no match: the path's shape, the app as handler
            return self._wsgi(environ)
        return route.pattern, self.handler(self._pyramid_view(route.name, environ["REQUEST_METHOD"]))

    def _pyramid_view(self, route_name, method):
        if self._pyramid_views is None:
            views = {}
            for entry in self._app.registry.introspector.get_category("views") or ():
                view = entry["introspectable"]
                if view["route_name"] is not None:
                    views.setdefault(view["route_name"], []).append(view)
            self._pyramid_views = views
        fallback = None
        for view in self._pyramid_views.get(route_name, ()):
            methods = view["request_methods"]
            target = view["callable"]
            if view["attr"]:
                target = getattr(target, view["attr"], target)
            if methods is None:
                fallback = fallback or target
            elif method in ((methods,) if isinstance(methods, str) else methods):
                return target
        return fallback

    def trace(self, environ):
        """A DispatchTrace to run around this request, or None when there is nothing to learn."""
        if self._app_code is None or (environ["REQUEST_METHOD"], environ["PATH_INFO"]) in self._routes:
            return None  # a path resolved before needs no folding again (the hot path)
        key = (environ["REQUEST_METHOD"], fold_path(environ["PATH_INFO"]))
        if key in self._dispatch:
            return None
        return DispatchTrace(key, self._app_code, self._cwd)

    def traced(self, trace):
        """Keeps what a DispatchTrace found, for every later request of its route."""
        found = None
        if trace.best is not None:
            _, code, module = trace.best
            found = self._describe_code(code, module)
        self._dispatch[trace.key] = found

    def _wsgi(self, environ):
        route = fold_path(environ["PATH_INFO"])
        return route, self._dispatch.get((environ["REQUEST_METHOD"], route)) or self.handler(self._app)

    # -- handler info -------------------------------------------------------------------

    def handler(self, func):
        """HandlerInfo (qualname, file relative to cwd, first line) of a view, or None."""
        if func is None:
            return None
        try:
            found = self._handlers.get(func, False)
        except TypeError:  # unhashable callable object
            return self._describe(func)
        if found is False:
            found = self._handlers[func] = self._describe(func)
        return found

    def _describe(self, func):
        try:
            target = inspect.unwrap(func)
            while isinstance(target, functools.partial):
                target = inspect.unwrap(target.func)
            if not (inspect.isfunction(target) or inspect.ismethod(target) or inspect.isclass(target)):
                target = type(target).__call__  # a callable object: its __call__ is the code
            name = readable_name(target)
            path = inspect.getsourcefile(target) or inspect.getfile(target)
            try:
                line = _definition_line(*inspect.getsourcelines(target))
            except (OSError, TypeError):
                line = getattr(getattr(target, "__code__", None), "co_firstlineno", 0)
            return {"qualname": name, "file": self._relative(path), "line": line}
        except Exception:
            return None

    def _describe_code(self, code, module):
        try:
            line = _definition_line(*inspect.getsourcelines(code))
        except (OSError, TypeError):
            line = code.co_firstlineno
        qualname = getattr(code, "co_qualname", code.co_name)  # co_qualname: Python 3.11+
        return {"qualname": _readable(qualname, module), "file": self._relative(code.co_filename), "line": line}

    def _relative(self, path):
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
