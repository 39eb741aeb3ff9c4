"""From a routed callable to the view behind its decorators (balloon_shim.handlers)."""
import json
import os
import time
import unittest

import decorators_for_tests as deco
from balloon_shim.handlers import AppFiles, Handlers, ViewTrace, find_view

HERE = os.path.dirname(os.path.abspath(__file__))
APP_FILES = AppFiles([HERE])


def report(*_):
    time.sleep(0.02)  # the view does the work: a trace must see it run longest
    return "report"


def report_check():
    return True


def make_app():
    """An app factory: its views close over a helper defined beside them."""
    def helper():
        return "helped"

    def index():
        return helper()

    return index


class AppFilesTest(unittest.TestCase):
    def test_names_without_a_file_are_never_the_apps(self):
        files = AppFiles([os.getcwd(), HERE])
        self.assertIn(os.path.join(HERE, "test_handlers.py"), files)
        for name in ("<frozen importlib._bootstrap>", "<string>", "<unknown>"):
            self.assertNotIn(name, files, "abspath() would put it under the working directory")


class FindViewTest(unittest.TestCase):
    def assertView(self, routed, view, names=()):
        found, choices = find_view(routed, APP_FILES, names)
        self.assertEqual((found, choices), (view, ()))

    def test_no_decorator(self):
        self.assertView(report, report)

    def test_functools_wraps(self):
        self.assertView(deco.wrapped(report), report)

    def test_a_closure_without_wraps(self):
        self.assertView(deco.plain(report), report)

    def test_stacked_decorators(self):
        self.assertView(deco.plain(deco.wrapped(deco.checked()(deco.plain(report)))), report)

    def test_a_check_from_the_decorator_module_is_not_the_view(self):
        self.assertView(deco.checked()(report), report)

    def test_a_check_from_the_views_module_loses_to_the_conventional_name(self):
        self.assertView(deco.checked(report_check)(report), report)
        self.assertView(deco.cached(report_check)(report), report)

    def test_the_endpoint_name_decides(self):
        found, choices = find_view(deco.both(report_check, report), APP_FILES, names=("report",))
        self.assertEqual((found, choices), (report, ()))

    def test_a_class_based_decorator(self):
        self.assertView(deco.Counted(report), report)

    def test_a_factory_view_keeps_its_helpers_out(self):
        index = make_app()
        self.assertView(index, index)

    def test_a_lambda_check_is_not_the_view(self):
        self.assertView(deco.checked(lambda: True)(report), report)

    def test_no_clue_leaves_a_choice(self):
        found, choices = find_view(deco.both(report_check, report), APP_FILES)
        self.assertEqual(set(choices), {report_check, report})
        self.assertEqual(found.__name__, "new_f")


class ViewTraceTest(unittest.TestCase):
    def test_the_choice_that_ran_longest(self):
        routed = deco.both(report_check, report)
        _, choices = find_view(routed, APP_FILES)
        trace = ViewTrace("key", (), APP_FILES, choices)
        trace.start()
        try:
            routed()
        finally:
            trace.stop()
        code, module = trace.found()
        self.assertIs(code, report.__code__)
        self.assertEqual(module, __name__)

    def test_a_wrapper_with_nothing_to_see_is_followed_into(self):
        routed = deco.registered(report)
        self.assertEqual(find_view(routed, APP_FILES)[1], ())
        trace = ViewTrace("key", (routed.__code__,), APP_FILES)
        trace.start()
        try:
            routed()
        finally:
            trace.stop()
        self.assertIs(trace.found()[0], report.__code__)

    def test_library_code_and_named_helpers_are_not_views(self):
        def app():
            json.dumps({})  # library code
            return report_check() and report()  # report_check: called by name

        trace = ViewTrace("key", (app.__code__,), APP_FILES)
        trace.start()
        try:
            app()
        finally:
            trace.stop()
        self.assertIsNone(trace.found())


class MethodDispatcher:
    """A plain WSGI app as Radicale is one: built on the first request, dispatching on the method."""

    def __init__(self):
        time.sleep(0.03)  # set-up outlasts a cheap view: it must still not be the view

    def __call__(self, environ):
        self._check(environ)
        return getattr(self, "do_" + environ["REQUEST_METHOD"])(environ)

    def _check(self, environ):
        return environ is not None

    def do_PROPFIND(self, environ):
        time.sleep(0.02)
        return "multistatus"

    def do_OPTIONS(self, environ):
        return "options"


_dispatcher = []


def dispatching_app(environ):
    if not _dispatcher:
        _dispatcher.append(MethodDispatcher())
    return _dispatcher[0](environ)


def _traced(method):
    trace = ViewTrace("key", (dispatching_app.__code__,), APP_FILES)
    trace.start()
    try:
        dispatching_app({"REQUEST_METHOD": method})
    finally:
        trace.stop()
    return trace.found()


class DispatchTest(unittest.TestCase):
    def test_a_dispatcher_hands_its_call_to_the_method_that_did_the_work(self):
        _dispatcher.clear()
        self.assertIs(_traced("PROPFIND")[0], MethodDispatcher.do_PROPFIND.__code__)

    def test_construction_is_set_up_not_a_view(self):
        _dispatcher.clear()
        code, _ = _traced("OPTIONS")
        self.assertIsNot(code, MethodDispatcher.__init__.__code__)
        self.assertIn(code, (MethodDispatcher.__call__.__code__, MethodDispatcher.do_OPTIONS.__code__))


class HandlersTest(unittest.TestCase):
    def test_info_points_at_def(self):
        info = Handlers(HERE).of(report)
        self.assertEqual(info["qualname"], "test_handlers.report")
        self.assertEqual(info["file"], "test_handlers.py")
        with open(os.path.join(HERE, "test_handlers.py"), encoding="utf-8") as source:
            self.assertTrue(source.read().splitlines()[info["line"] - 1].startswith("def report("))

    def test_app_files(self):
        self.assertIn(__file__, APP_FILES)
        self.assertNotIn(json.__file__, APP_FILES)
        self.assertNotIn("/usr/lib/python3/dist-packages/django/views/generic/base.py", APP_FILES)
        self.assertIn("/usr/lib/python3/dist-packages/someapp/views.py", AppFiles(["/usr/lib/python3/dist-packages/someapp"]))


if __name__ == "__main__":
    unittest.main()
