"""Balloon demo shop: a tiny WSGI app (standard library only) with three memory problems to find.

Run it under a server, e.g. `gunicorn app:application`, or on its own:
    python3 app.py            # serves on http://127.0.0.1:8000
"""
import csv
import io
import json
from urllib.parse import parse_qs

COLOURS = ["red", "green", "blue", "black", "white", "yellow", "grey", "navy"]
KINDS = ["shirt", "shoe", "hat", "scarf", "sock", "jacket", "glove", "bag"]

PRODUCTS = [
    {"id": i, "name": "%s %s" % (COLOURS[i % 8], KINDS[i // 8 % 8]), "price_cents": 500 + 37 * i}
    for i in range(1, 65)
]
PRODUCTS_BY_ID = {p["id"]: p for p in PRODUCTS}

_search_index = {}  # token -> product ids, built by the first /search in each worker
sessions = []  # one entry per /cart/add, for "recently viewed carts"


def health(environ):
    return 200, "text/plain", "ok\n"


def product_list(environ):
    return 200, "application/json", json.dumps(PRODUCTS)


def product_detail(environ, product_id):
    product = PRODUCTS_BY_ID.get(product_id)
    if product is None:
        return 404, "application/json", json.dumps({"error": "no such product"})
    return 200, "application/json", json.dumps(product)


def report_export(environ):
    # Balloon: builds the whole ~64 MiB CSV in memory before answering; freed after the request.
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(["order", "product", "quantity", "price_cents", "note"])
    note = "gift wrap; deliver to the side door; call before arrival " * 6
    for order in range(180000):
        product = PRODUCTS[order % len(PRODUCTS)]
        writer.writerow([order, product["name"], 1 + order % 5, product["price_cents"], note])
    text.flush()
    size = raw.getbuffer().nbytes
    text.close()  # closes raw too; a real export would stream rows instead
    return 200, "application/json", json.dumps({"rows": 180000, "bytes": size})


def search(environ):
    # Inflates: the first call builds a module-level index of many small objects that stays.
    if not _search_index:
        for n in range(95000):
            product = PRODUCTS[n % len(PRODUCTS)]
            entry = (n, "sku%06d" % n)
            for word in product["name"].split():
                _search_index.setdefault(word, []).append(entry)
    query = parse_qs(environ.get("QUERY_STRING", "")).get("q", ["red"])[0].lower()
    hits = _search_index.get(query, [])
    return 200, "application/json", json.dumps({"query": query, "hits": len(hits)})


def cart_add(environ):
    # Leak: every call appends to a module-level list that nothing clears.
    sku = parse_qs(environ.get("QUERY_STRING", "")).get("sku", ["sku000001"])[0]
    line = "<li>%s x1</li>" % sku
    sessions.append({"sku": sku, "rendered_cart": line * ((1 << 20) // len(line))})
    return 200, "application/json", json.dumps({"added": sku, "sessions": len(sessions)})


ROUTES = {
    "/health": health,
    "/products": product_list,
    "/products/<int>": product_detail,
    "/report/export": report_export,
    "/search": search,
    "/cart/add": cart_add,
}


def application(environ, start_response):
    segments = environ.get("PATH_INFO", "/").rstrip("/").split("/")
    args = [int(s) for s in segments if s.isdigit()]
    handler = ROUTES.get("/".join("<int>" if s.isdigit() else s for s in segments))
    if handler is None:
        status, content_type, body = 404, "text/plain", "not found\n"
    else:
        status, content_type, body = handler(environ, *args)
    data = body.encode("utf-8")
    reason = {200: "OK", 404: "Not Found"}[status]
    start_response("%d %s" % (status, reason),
                   [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    print("Balloon demo shop on http://127.0.0.1:8000/products")
    make_server("127.0.0.1", 8000, application).serve_forever()
