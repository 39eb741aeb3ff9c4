// The gunicorn recorder's route naming (Python, in gunicorn.conf.py with gunicorn-recorder.ts):
// a request's route template and handler as Balloon's shim names them (frameworks.py,
// handlers.py), from the app object after the request, cached per method and path; a plain
// WSGI app's raw path folded as record/fold-path.ts folds it (a test holds the two together).

export const RECORDER_ROUTES = String.raw`_UNMATCHED = "<unmatched>"
_PATHS_KEPT = 4096
_quote = json.encoder.encode_basestring_ascii  # a str as a JSON string literal
_INT_SEGMENT = re.compile(r"[0-9]+")
_ID_SEGMENT = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}")
_EXTENSION = re.compile(r"(.+)(\.[A-Za-z][A-Za-z0-9]{0,4})", re.DOTALL)


def _fold_segment(segment):
    named = _EXTENSION.fullmatch(segment)
    stem, extension = named.groups() if named else (segment, "")
    if _INT_SEGMENT.fullmatch(stem):
        return "<int>" + extension
    if _ID_SEGMENT.fullmatch(stem):
        return "<id>" + extension
    return segment


def _fold_path(path):
    """"/users/42/orders/9f86d081884c7d65" -> "/users/<int>/orders/<id>", as Balloon folds raw paths."""
    return "/".join(_fold_segment(segment) for segment in path.split("/"))


class _Routes:
    """Route template and handler of a request, named as Balloon's profiler names them: Flask's
    url map, Django's resolve() and Pyramid's route mapper, matched again after the request
    (Flask clears the request it made) and cached per method and path; otherwise the raw path
    folded, with no handler."""

    def __init__(self, app, cwd):
        self._app = app
        self._cwd = os.path.join(os.path.abspath(cwd), "")
        self._handlers = {}
        self._paths = {}
        flask, django, pyramid = (sys.modules.get(name) for name in ("flask", "django.core.handlers.wsgi", "pyramid.router"))
        if flask is not None and isinstance(app, flask.Flask):
            self.framework, self._resolve = "flask", self._flask
        elif django is not None and isinstance(app, django.WSGIHandler):
            self.framework, self._resolve = "django", self._django
        elif pyramid is not None and isinstance(app, pyramid.Router):
            self.framework, self._resolve = "pyramid", self._pyramid
        else:
            self.framework, self._resolve = "wsgi", self._wsgi

    def of(self, method, path, environ):
        """(route, handler) as JSON text, resolved once per method and path."""
        found = self._paths.get((method, path))
        if found is None:
            if len(self._paths) >= _PATHS_KEPT:
                self._paths.clear()  # many distinct raw paths: start over, stay bounded
            route, handler = self._resolve(method, path, environ)
            found = self._paths[(method, path)] = (_quote(route), json.dumps(handler, separators=(",", ":")))
        return found

    def _flask(self, method, path, environ):
        from werkzeug.exceptions import HTTPException

        try:
            # create_url_adapter honours SERVER_NAME and subdomains as Flask's own dispatch does.
            rule, _ = self._app.create_url_adapter(self._app.request_class(dict(environ))).match(return_rule=True)
        except HTTPException:  # NotFound, MethodNotAllowed, RequestRedirect
            return _UNMATCHED, None
        return rule.rule, self._handler(self._app.view_functions.get(rule.endpoint), method)

    def _django(self, method, path, environ):
        from django.urls import Resolver404, resolve

        try:
            match = resolve(path)
        except Resolver404:
            return _UNMATCHED, None
        route = getattr(match, "route", None) or _fold_path(path)
        if route[:1] == "^" or route[-1:] == "$":  # a regex route: its named groups as <name>
            route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route.strip("^$"))
        return "/" + route.lstrip("/"), self._handler(match.func, method)

    def _pyramid(self, method, path, environ):
        request = self._app.request_factory(dict(environ))
        request.registry = self._app.registry
        route = self._app.routes_mapper(request)["route"] if self._app.routes_mapper is not None else None
        if route is None:
            return self._wsgi(method, path, environ)
        for view in self._app.registry.introspector.get_category("views") or ():
            view = view["introspectable"]
            methods = view["request_methods"]
            if view["route_name"] == route.name and (methods is None or method in methods):
                target = view["callable"]
                return route.pattern, self._handler(getattr(target, view["attr"]) if view["attr"] else target, method)
        return route.pattern, None

    @staticmethod
    def _wsgi(method, path, environ):
        return _fold_path(path), None

    def _handler(self, view, method):
        """{"qualname", "file", "line"} of the view, the line of its def; None when it has no source."""
        try:
            return self._handlers[(view, method)]
        except KeyError:
            found = self._handlers[(view, method)] = self._describe(view, method)
            return found
        except TypeError:  # an unhashable callable object
            return self._describe(view, method)

    def _describe(self, view, method):
        view_class = getattr(view, "view_class", None)  # a class-based view: the method that serves it
        if inspect.isclass(view_class):
            names = (method.lower(), "get" if method == "HEAD" else "", "dispatch_request")
            view = next((getattr(view_class, name) for name in names if name and hasattr(view_class, name)), view_class)
        try:
            target = inspect.unwrap(view)
            lines, start = inspect.getsourcelines(target)
            path = os.path.abspath(inspect.getsourcefile(target))
        except (OSError, TypeError, ValueError):
            return None
        line = start + next((i for i, text in enumerate(lines) if text.lstrip().startswith(("def ", "async def ", "class "))), 0)
        parts = [part for part in target.__qualname__.split(".") if part != "<locals>"]
        if len(parts) == 1:
            parts.insert(0, target.__module__.rpartition(".")[2])
        return {"qualname": ".".join(parts), "file": path[len(self._cwd):] if path.startswith(self._cwd) else path, "line": line}`;
