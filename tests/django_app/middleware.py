"""middleware.py: counts the statuses the project answers with.

Files in the state directory: count200, count304 (answers of each
status), last ("inm=<If-None-Match or -> ims=<If-Modified-Since or ->" of
the last request).
"""

import os

from django_app import state


class CountStatuses:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with open(os.path.join(state.directory(request), "last"), "w") as f:
            f.write(
                "inm=%s ims=%s\n"
                % (
                    request.META.get("HTTP_IF_NONE_MATCH", "-"),
                    request.META.get("HTTP_IF_MODIFIED_SINCE", "-"),
                )
            )
        response = self.get_response(request)
        state.bump(request, "count%d" % response.status_code)
        return response
