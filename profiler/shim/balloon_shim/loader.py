"""Loads the WSGI app named by ShimConfig.target and tells which framework it is."""
import importlib
import os
import re
import sys

# manage.py's os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
_DJANGO_SETTINGS = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""")


class AppLoadError(Exception):
    """The target is malformed or is not a WSGI callable (the app's import errors pass as they are)."""


class LoadedApp:
    def __init__(self, app, framework, framework_version, module):
        self.app = app
        self.framework = framework
        self.framework_version = framework_version
        self.module = module  # the module the app came from (a Django project: its settings)


def load(config):
    """Imports the target with config.cwd first on sys.path. Raises on any failure."""
    cwd = os.path.abspath(config.get("cwd") or os.getcwd())
    os.chdir(cwd)
    _path_first(cwd)
    target = config["target"]
    project = os.path.join(cwd, target)
    if os.path.isfile(os.path.join(project, "manage.py")):
        app = _load_django_project(project)
        module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    else:
        app = _load_callable(target)
        module = target.partition(":")[0]
    if not callable(app):
        raise AppLoadError("%s is a %s, not a WSGI callable" % (target, type(app).__name__))
    framework = detect_framework(app)
    wanted = config.get("framework") or "auto"
    if wanted not in ("auto", framework):
        # Resolvers need the framework's own object; a wrapped app falls back to plain WSGI.
        print("balloon: %s was configured as %s but looks like %s; using %s"
              % (target, wanted, framework, framework), file=sys.stderr)
    return LoadedApp(app, framework, framework_version(framework), module)


def _path_first(directory):
    if directory in sys.path:
        sys.path.remove(directory)
    sys.path.insert(0, directory)


def _load_callable(target):
    module_name, _, expression = target.partition(":")
    expression = expression or "application"
    module = importlib.import_module(module_name)
    call = expression.endswith("()")
    if call:
        expression = expression[:-2]
    obj = module
    for attr in expression.split("."):
        if not attr.isidentifier():
            raise AppLoadError("bad target %r: expected module:name[.attr][()]" % target)
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise AppLoadError("module %s has no %s" % (module_name, expression)) from None
    return obj() if call else obj


def _load_django_project(project):
    with open(os.path.join(project, "manage.py"), encoding="utf-8") as f:
        found = _DJANGO_SETTINGS.search(f.read())
    if not found and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        raise AppLoadError("no DJANGO_SETTINGS_MODULE in %s" % os.path.join(project, "manage.py"))
    if found:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", found.group(1))
    _path_first(os.path.abspath(project))
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def detect_framework(app):
    # Only look at frameworks the app already imported: importing one here would cost
    # memory in every worker and skew what we measure.
    modules = sys.modules
    if "django.core.handlers.wsgi" in modules:
        if isinstance(app, modules["django.core.handlers.wsgi"].WSGIHandler):
            return "django"
    if "flask" in modules and isinstance(app, modules["flask"].Flask):
        return "flask"
    if "pyramid.router" in modules and isinstance(app, modules["pyramid.router"].Router):
        return "pyramid"
    return "wsgi"


def framework_version(framework):
    if framework == "wsgi":
        return ""
    try:
        from importlib.metadata import version

        return version("Django" if framework == "django" else framework)
    except Exception:  # not installed as a distribution (vendored, zipapp)
        return str(getattr(sys.modules.get(framework), "__version__", ""))
