"""settings.py: the settings of the test project (no database, no apps).

REVALIDATE_STATE (the environment, or a FastCGI parameter from the web
server) names the directory where the view and the counting middleware
keep what the test reads back.
"""

SECRET_KEY = "bocache-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "django_app.urls"
INSTALLED_APPS = []
DATABASES = {}
USE_TZ = True
# The counting middleware is outermost, so it sees the status that
# ConditionalGetMiddleware made of the view's 200.
MIDDLEWARE = [
    "django_app.middleware.CountStatuses",
    "django.middleware.http.ConditionalGetMiddleware",
]
