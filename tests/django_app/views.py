"""views.py: a JSON list with an ETag of its data's version.

The view sets ETag and Cache-Control (max-age=1, or ?cc=no-cache) and
leaves the 304 to ConditionalGetMiddleware. X-Call numbers the view's
calls (a 304 of the middleware does not carry it, so the stored one
stays); the file "version" in the state directory changes the data and
so the ETag.
"""

from django.http import JsonResponse

from django_app import state

ITEMS = [
    {"id": 1, "name": "football"},
    {"id": 2, "name": "tennis"},
]


def items(request):
    n = state.bump(request, "calls")
    version = state.read(request, "version", "1")
    response = JsonResponse(
        [dict(item, version=version) for item in ITEMS], safe=False
    )
    response["ETag"] = '"items-v%s"' % version
    if request.GET.get("cc") == "no-cache":
        response["Cache-Control"] = "no-cache"
    else:
        response["Cache-Control"] = "max-age=1"
    response["X-Call"] = str(n)
    return response
