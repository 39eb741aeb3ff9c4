"""Balloon's Python side: runs a WSGI app for the supervisor and reports what each request
does to memory. Started as `python3 -m balloon_shim worker|master`; see __main__.py."""
