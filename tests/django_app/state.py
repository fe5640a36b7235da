"""state.py: the files in the REVALIDATE_STATE directory."""

import fcntl
import os


def directory(request):
    """The state directory: the request's REVALIDATE_STATE parameter, else
    the environment's, else this folder."""
    return request.META.get("REVALIDATE_STATE") or os.environ.get(
        "REVALIDATE_STATE", os.path.dirname(os.path.abspath(__file__))
    )


def bump(request, name):
    """Adds one to the counter file NAME under a lock; returns the count."""
    path = os.path.join(directory(request), name)
    with open(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        n = int(f.read() or "0") + 1
        f.seek(0)
        f.truncate()
        f.write(str(n))
    return n


def read(request, name, default):
    """The stripped text of the file NAME, or DEFAULT when there is none."""
    try:
        with open(os.path.join(directory(request), name)) as f:
            return f.read().strip() or default
    except FileNotFoundError:
        return default
