"""Route template and handler of a request, per framework (ARCHITECTURE.md "Route -> handler").

Resolution runs before the app is called, outside the request's memory figures (from a
copy of the environ: the app may change its own), and is cached per (method, path), so a
warm route costs one dict lookup. Where the handler can only be found by following the call
(plain WSGI dispatch; a decorator that hides its view), begin() hands out a ViewTrace for
the route's first call in this worker and finish() keeps what it found. Any failure
resolves to the folded path with no handler: profiling must never break a request.
"""
import inspect
import io
import os
import sys

from .handlers import AppFiles, Handlers, ViewTrace, find_view, looks_like_wrapper, unwrap
from .routes import django_template, fold_path

UNMATCHED = "<unmatched>"
_CACHE_LIMIT = 4096


def _callable_code(app):
    """Code object that runs when the WSGI server calls `app` (None if not Python code)."""
    target = unwrap(app)
    if not inspect.isfunction(target):
        target = unwrap(getattr(type(target), "__call__", None))
    return getattr(target, "__code__", None)


def _app_roots(cwd, module):
    """The app's directories: cwd, and the top-level package of the module it came from
    (an app installed elsewhere, on PYTHONPATH or in site-packages)."""
    roots = [cwd]
    top = sys.modules.get((module or "").partition(".")[0])
    path = getattr(top, "__file__", None)
    if path:
        roots.append(os.path.dirname(path) if os.path.basename(path) != "__init__.py" else os.path.dirname(os.path.dirname(path)))
    return roots


class RouteResolver:
    def __init__(self, loaded, cwd):
        self._app = loaded.app
        cwd = os.path.abspath(cwd)
        self._handlers = Handlers(cwd)
        self._app_files = AppFiles(_app_roots(cwd, loaded.module))
        self._routes = {}  # (method, path) -> (route, HandlerInfo | None)
        self._traced = {}  # (method, route) -> HandlerInfo | None found by a ViewTrace
        self._resolve = {
            "django": self._django,
            "flask": self._flask,
            "pyramid": self._pyramid,
        }.get(loaded.framework, self._wsgi)
        self._pyramid_views = None
        self._app_code = _callable_code(self._app) if self._resolve == self._wsgi else None

    @property
    def app_files(self):
        """Which source files are the app's (AppFiles), as handlers are found in."""
        return self._app_files

    @property
    def handlers(self):
        return self._handlers

    def begin(self, environ):
        """(found, trace) before the call: found is (route template, HandlerInfo or None);
        or (None, a ViewTrace) to run around this call and give to finish()."""
        key = (environ["REQUEST_METHOD"], environ["PATH_INFO"])
        found = self._routes.get(key)
        if found is not None:
            return found, None
        copy = dict(environ)
        copy["wsgi.input"] = io.BytesIO()
        try:
            found = self._resolve(copy, key)
        except Exception:
            found = (fold_path(key[1]), None)
        finally:
            copy.clear()  # a framework request object may have made a cycle through it
        if isinstance(found, ViewTrace):
            return None, found
        self._remember(key, found)
        return found, None

    def finish(self, trace):
        """(route, HandlerInfo) of a traced call, kept for every later request of its route."""
        key, route, fallback = trace.key
        found = trace.found()
        handler = self._handlers.of_code(*found) if found is not None else fallback
        self._traced[(key[0], route)] = handler
        self._remember(key, (route, handler))
        return route, handler

    def _remember(self, key, found):
        if len(self._routes) >= _CACHE_LIMIT:
            self._routes.clear()  # many distinct raw paths (plain WSGI): start over, stay bounded
        self._routes[key] = found

    def _view(self, key, route, view, names=()):
        """(route, HandlerInfo) of a routed callable; a ViewTrace when a decorator hides the view."""
        target, choices = find_view(view, self._app_files, names)
        target = _class_view(target, key[0].lower())
        hidden = inspect.isfunction(target) and looks_like_wrapper(target.__code__)
        if not choices and not hidden:
            return route, self._handlers.of(target)
        known = self._traced.get((key[0], route), False)
        if known is not False:
            return route, known
        fallback = self._handlers.of(choices[0] if choices else target)
        return ViewTrace((key, route, fallback), (target.__code__,) if hidden else (), self._app_files, choices)

    # -- per framework ------------------------------------------------------------------

    def _flask(self, environ, key):
        from werkzeug.exceptions import HTTPException

        app = self._app
        try:
            # create_url_adapter honours SERVER_NAME and subdomain matching like Flask does.
            adapter = app.create_url_adapter(app.request_class(environ))
            rule, _ = adapter.match(return_rule=True)
        except HTTPException:  # NotFound, MethodNotAllowed, RequestRedirect
            return UNMATCHED, None
        view = app.view_functions.get(rule.endpoint)
        if view is None:
            return rule.rule, None
        return self._view(key, rule.rule, view, (rule.endpoint.rpartition(".")[2],))

    def _django(self, environ, key):
        from django.urls import Resolver404, resolve

        try:
            match = resolve(environ["PATH_INFO"])
        except Resolver404:
            return UNMATCHED, None
        route = getattr(match, "route", None)
        route = django_template(route) if route is not None else fold_path(environ["PATH_INFO"])
        return self._view(key, route, match.func, (match.url_name,) if match.url_name else ())

    def _pyramid(self, environ, key):
        app = self._app
        request = app.request_factory(environ)
        request.registry = app.registry
        route = app.routes_mapper(request)["route"] if app.routes_mapper is not None else None
        if route is None:  # traversal or no match: the path's shape, the app as handler
            return self._wsgi(environ, key)
        view = self._pyramid_view(route.name, environ["REQUEST_METHOD"])
        return self._view(key, route.pattern, view) if view is not None else (route.pattern, None)

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

    def _wsgi(self, environ, key):
        """Plain WSGI: the path's shape, and the function the callable dispatched to (traced
        on the route's first call; the callable itself when it dispatches to nothing)."""
        route = fold_path(key[1])
        app = self._handlers.of(self._app)
        if self._app_code is None:
            return route, app
        known = self._traced.get((key[0], route), False)
        if known is not False:
            return route, known or app
        return ViewTrace((key, route, app), (self._app_code,), self._app_files)


def _class_view(func, method):
    """The method a class-based view serves `method` with: Django's View.as_view() and DRF
    viewsets (view_class or cls, actions), Flask's View.as_view() (dispatch_request)."""
    view_class = getattr(func, "view_class", None) or getattr(func, "cls", None)
    if not inspect.isclass(view_class):
        return func
    actions = getattr(func, "actions", None) or {}  # Django REST framework viewsets
    names = (actions.get(method), method) if actions else (method,)
    if method == "head":
        names += (actions.get("get"), "get")  # View.setup() serves HEAD with get
    for name in names + ("dispatch_request",):
        method_func = getattr(view_class, name, None) if name else None
        if callable(method_func):
            return unwrap(method_func)
    return view_class
