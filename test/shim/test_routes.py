"""Route templates: Django regex routes (re_path, url()) as templates, raw paths folded."""
import unittest

from balloon_shim.routes import django_template, fold_path, regex_template

# (ResolverMatch.route as Django 3.2+ gives it, template). Patterns from the Django docs,
# django.contrib, django-allauth, DRF routers, Wagtail, Mezzanine and common app code.
DJANGO_ROUTES = [
    (r"^render/?$", "/render"),
    (r"^feed/(?P<slug>[-\w]+)/$", "/feed/<slug>/"),
    (r"^$", "/"),
    (r"^admin/", "/admin/"),
    (r"^articles/(?P<year>[0-9]{4})/$", "/articles/<year>/"),
    (r"^articles/(?P<year>[0-9]{4})/(?P<month>[0-9]{2})/(?P<slug>[\w-]+)/$", "/articles/<year>/<month>/<slug>/"),
    (r"^(\d+)/$", "/<arg>/"),
    (r"^(\d+)/(\d+)/$", "/<arg>/<arg>/"),
    (r"^comments/(?:page-(?P<page_number>\d+)/)?$", "/comments/"),
    (r"^blog/(page-(\d+)/)?$", "/blog/"),
    (r"^static/(?P<path>.*)$", "/static/<path>"),
    (r"^media/(?P<path>.*)$", "/media/<path>"),
    (r"^robots\.txt$", "/robots.txt"),
    (r"^robots.txt$", "/robots.txt"),
    (r"^favicon\.ico$", "/favicon.ico"),
    (r"^reset/(?P<uidb64>[0-9A-Za-z_\-]+)/(?P<token>[0-9A-Za-z]{1,13}-[0-9A-Za-z]{1,32})/$",
     "/reset/<uidb64>/<token>/"),
    (r"^user/(?P<username>[\w.@+-]+)/$", "/user/<username>/"),
    (r"^api/v1/users/(?P<pk>[^/.]+)/$", "/api/v1/users/<pk>/"),
    (r"^users/(?P<pk>[^/.]+)\.(?P<format>[a-z0-9]+)/?$", "/users/<pk>.<format>"),
    (r"^shop/items/(?P<slug>[-a-zA-Z0-9_]+)/$", "/shop/items/<slug>/"),
    (r"^(?i)about/$", "/about/"),
    (r"^(?:about|contact)/$", "/(about|contact)/"),
    (r"^(?P<kind>news|events)/$", "/<kind>/"),
    (r"^page/(?P<num>\d+)(?:/(?P<extra>\w+))?/$", "/page/<num>/"),
    (r"^x[.]y$", "/x.y"),
    (r"^(?P<a>\d+)/(?P=a)/$", "/<a>/<a>/"),
    (r"^files/.+$", "/files/*"),
    (r"^download/\d+/$", "/download/*/"),
    (r"^tag/(?P<tag>[^/]+)/feed/(?P<format>rss|atom)/$", "/tag/<tag>/feed/<format>/"),
    (r"^accounts/confirm-email/(?P<key>[-:\w]+)/$", "/accounts/confirm-email/<key>/"),
    (r"^(?P<app_label>auth|sites)/$", "/<app_label>/"),
    (r"^r/(?P<content_type_id>\d+)/(?P<object_id>.+)/$", "/r/<content_type_id>/<object_id>/"),
    (r"^jsi18n/$", "/jsi18n/"),
    (r"^sitemap\.xml$", "/sitemap.xml"),
    (r"^sitemap-(?P<section>.+)\.xml$", "/sitemap-<section>.xml"),
    (r"^search(?:/(?P<q>.*))?$", "/search"),
    (r"^(?!admin/).*$", "/*"),
    (r"^a/+b/?$", "/a/b"),
    (r"^v(?P<version>[12])/$", "/v<version>/"),
    (r"^\Ahealth\Z", "/health"),
    (r"^api/(?#the version)v1/$", "/api/v1/"),
    # Includes: Django joins the patterns, dropping the second one's "^".
    (r"^shop/items/(?P<slug>[\w-]+)/$", "/shop/items/<slug>/"),
    (r"^shop/^items/$", "/shop/items/"),
    # A regex include around path() routes keeps their converters.
    (r"^api/users/<int:pk>/", "/api/users/<int:pk>/"),
    # path() routes are left as they are.
    ("users/<int:uid>/", "/users/<int:uid>/"),
    ("shop/items/<slug:slug>/", "/shop/items/<slug:slug>/"),
    ("", "/"),
]


class DjangoTemplateTest(unittest.TestCase):
    def test_routes(self):
        for route, template in DJANGO_ROUTES:
            with self.subTest(route=route):
                self.assertEqual(django_template(route), template)

    def test_a_regex_it_cannot_read_stays_raw(self):
        for broken in ("^a(b/$", "^[abc/$", "^(?P<x/$"):
            with self.subTest(broken=broken):
                self.assertEqual(regex_template(broken), broken)


class FoldPathTest(unittest.TestCase):
    def test_ids_fold(self):
        self.assertEqual(fold_path("/users/42/orders/123e4567-e89b-12d3-a456-426614174000"), "/users/<int>/orders/<id>")
        self.assertEqual(fold_path("/blobs/9f86d081884c7d65/x"), "/blobs/<id>/x")
        self.assertEqual(fold_path("/v2/about"), "/v2/about")
        self.assertEqual(fold_path("/cal/6e4c3a5b-5f2e-4b1a-9c3d-2e1f0a9b8c7d.ics"), "/cal/<id>.ics")
        self.assertEqual(fold_path("/users/\u0661\u0662"), "/users/\u0661\u0662")  # not [0-9]


if __name__ == "__main__":
    unittest.main()
