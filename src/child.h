/* child.h: the backend application as bocache's supervised child process,
 * listening on a private unix socket passed as its fd 0. */
#ifndef BOCACHE_CHILD_H
#define BOCACHE_CHILD_H

#include <stddef.h>

typedef struct bc_child bc_child;

/* Grace period bc_child_stop callers use unless told otherwise. */
#define BC_CHILD_STOP_GRACE_MS 5000

/* Prepares to run ARGV (argv[0] looked up in PATH) as the backend. Creates a
 * private directory (mkdtemp under $TMPDIR or /tmp, mode 0700) and binds and
 * listens on a unix socket "backend.sock" in it (mode 0600, close-on-exec in
 * bocache). bocache keeps the socket open across a quick restart, so
 * connections made meanwhile wait in its backlog for the new backend; while
 * a backend that keeps failing is down, the socket is closed (connections
 * are refused: 502) and opened again, at the same path, for the next start.
 *
 * ARGV is copied; the caller keeps its own. The child's environment is a
 * copy of the current one taken now, plus PHP_FCGI_CHILDREN=WORKERS unless
 * it is already set (php-cgi otherwise serves one connection at a time,
 * while each bocache worker keeps one open). Starts nothing: see
 * bc_child_start. Returns NULL with a message in ERR. Free with
 * bc_child_free. */
bc_child *bc_child_new(char *const argv[], int workers, char *err,
                       size_t errlen);

/* "unix:/.../backend.sock", the address to forward to (borrowed; valid until
 * bc_child_free). */
const char *bc_child_address(const bc_child *c);

/* Forks and execs the backend: the socket as fd 0, every other descriptor
 * except 1 and 2 closed, signal mask and dispositions reset, its own
 * process group, and SIGTERM when bocache's calling thread dies (so call
 * it, bc_child_on_sigchld and bc_child_tick from the main thread only, and
 * with SIGCHLD blocked). Makes bocache a child subreaper, so the backend's
 * own children that it leaves behind are reaped here too. Returns 0 once
 * the exec succeeded, or -1 with a message in ERR (for example when the
 * command does not exist); nothing is left running then. */
int bc_child_start(bc_child *c, char *err, size_t errlen);

/* Reaps exited children without blocking; call on SIGCHLD. When the backend
 * has exited: logs its status, ends what is left of its process group and
 * schedules a restart with backoff (100 ms doubling to 10 s, back to 100 ms
 * after a run of 10 s or more). Returns the number of processes reaped. */
int bc_child_on_sigchld(bc_child *c);

/* Milliseconds until a scheduled restart is due (0 if overdue), or -1 when
 * none is scheduled. */
int bc_child_timeout_ms(const bc_child *c);

/* Does a restart that is due. A restart that fails is logged and scheduled
 * again with backoff. */
void bc_child_tick(bc_child *c);

/* Stops the backend: SIGTERM to its process group, up to GRACE_MS for all of
 * it to exit, then SIGKILL, and reaps it. Cancels any scheduled restart;
 * the backend is not started again. */
void bc_child_stop(bc_child *c, int grace_ms);

/* Stops the backend if it still runs (with BC_CHILD_STOP_GRACE_MS), closes
 * and unlinks the socket and removes the private directory. C may be NULL. */
void bc_child_free(bc_child *c);

#endif
