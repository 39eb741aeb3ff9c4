"""Hello route for `npm run bench`: the smallest stdlib WSGI app, so the figures measure the
server (HTTP front, dispatch, accounting), not the app."""

BODY = b"Hello, world!\n"
HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
