"""django_app: a minimal Django project for tests/it_revalidate.sh.

One view behind django.middleware.http.ConditionalGetMiddleware, served
over FastCGI by uWSGI behind bocache, so that bocache's revalidation
(If-None-Match from the stored ETag) meets Django's own 304 handling.
"""
