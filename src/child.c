/* child.c: the backend application as a supervised child process: private
 * socket, fork and exec, restart with backoff, stop without orphans. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LISTEN_BACKLOG 1024
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 10000
/* A child that ran this long was healthy: the next restart is quick. */
#define STABLE_RUN_MS 10000
#define STOP_POLL_MS 10
/* After SIGKILL, how long to wait for the kernel to finish the group. */
#define KILL_WAIT_MS 5000
/* Descriptors closed one by one when close_range is not available. */
#define CLOSE_FALLBACK_MAX 65536
#define CHILDREN_VAR "PHP_FCGI_CHILDREN"

extern char **environ;

struct bc_child {
    char **argv;
    char **envp;
    int fd;
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char address[sizeof(((struct sockaddr_un *)0)->sun_path) + 5];
    pid_t pid;       /* the running backend (its process group too), or 0 */
    pid_t orphan_pg; /* the group of the last backend that died, or 0 */
    int64_t started_ms;
    int64_t restart_at_ms; /* 0: no restart scheduled */
    int delay_ms;          /* the backoff for the next restart */
    int stopped;
};

static void free_strv(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* A NULL-terminated deep copy of V, plus EXTRA (owned, may be NULL) at the
 * end. Returns NULL when out of memory (EXTRA is then freed). */
static char **copy_strv(char *const v[], char *extra)
{
    size_t n = 0;
    while (v[n])
        n++;
    char **out = calloc(n + 2, sizeof *out);
    if (!out) {
        free(extra);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(out[i] = strdup(v[i]))) {
            free(extra);
            free_strv(out);
            return NULL;
        }
    }
    out[n] = extra;
    return out;
}

/* The environment for the child, built now because between fork and exec
 * only async-signal-safe calls are allowed (setenv is not). */
static char **child_environment(int workers)
{
    static char *const empty[] = {NULL};
    char *const *env = environ ? environ : empty;
    size_t len = strlen(CHILDREN_VAR);
    for (char *const *p = env; *p; p++) {
        if (strncmp(*p, CHILDREN_VAR "=", len + 1) == 0)
            return copy_strv(env, NULL);
    }
    char *extra = malloc(len + 16);
    if (!extra)
        return NULL;
    snprintf(extra, len + 16, "%s=%d", CHILDREN_VAR, workers);
    return copy_strv(env, extra);
}

/* Closes the socket and removes its name: connections are refused, so
 * requests get a 502 at once instead of waiting for a backend that keeps
 * failing. */
static void close_socket(bc_child *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->path[0])
        unlink(c->path);
}

/* Creates the private directory and names the socket in it. */
static int make_dir(bc_child *c, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    /* "/bocache.XXXXXX/backend.sock" must fit in sun_path with TMPDIR. */
    if (!tmp || tmp[0] != '/' || strlen(tmp) + 29 > sizeof c->path)
        tmp = "/tmp";
    snprintf(c->dir, sizeof c->dir, "%s/bocache.XXXXXX", tmp);
    if (!mkdtemp(c->dir)) {
        snprintf(err, errlen, "cannot create a directory in %s: %s", tmp,
                 strerror(errno));
        c->dir[0] = '\0';
        return -1;
    }
    /* Cannot be cut short: TMPDIR's length was checked above. */
    if (snprintf(c->path, sizeof c->path, "%s/backend.sock", c->dir) >=
            (int)sizeof c->path ||
        snprintf(c->address, sizeof c->address, "unix:%s", c->path) >=
            (int)sizeof c->address) {
        snprintf(err, errlen, "socket path in %s too long", c->dir);
        return -1;
    }
    return 0;
}

/* Binds and listens on the socket path. */
static int open_socket(bc_child *c, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    unlink(c->path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        chmod(c->path, 0600) < 0 || listen(c->fd, LISTEN_BACKLOG) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", c->path,
                 strerror(errno));
        close_socket(c);
        return -1;
    }
    return 0;
}

bc_child *bc_child_new(char *const argv[], int workers, char *err,
                       size_t errlen)
{
    if (!argv || !argv[0] || !argv[0][0]) {
        snprintf(err, errlen, "no backend command after --");
        return NULL;
    }
    bc_child *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = -1;
    c->delay_ms = BACKOFF_FIRST_MS;
    c->argv = copy_strv(argv, NULL);
    c->envp = child_environment(workers);
    if (!c->argv || !c->envp) {
        snprintf(err, errlen, "out of memory");
        bc_child_free(c);
        return NULL;
    }
    if (make_dir(c, err, errlen) < 0 || open_socket(c, err, errlen) < 0) {
        bc_child_free(c);
        return NULL;
    }
    return c;
}

const char *bc_child_address(const bc_child *c)
{
    return c->address;
}

/* ---- in the forked child: async-signal-safe calls only ---- */

static void reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    /* bocache ignores SIGPIPE, and an ignored signal stays ignored across
     * exec; handled ones are reset by exec anyway. */
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void close_from(int lowfd)
{
    if (close_range((unsigned)lowfd, ~0U, 0) == 0)
        return;
    for (int fd = lowfd; fd < CLOSE_FALLBACK_MAX; fd++)
        close(fd);
}

static void report_and_exit(int errfd)
{
    int e = errno;
    ssize_t n = write(errfd, &e, sizeof e);
    (void)n;
    _exit(127);
}

/* Becomes the backend: fd 0 the socket, fd 3 the close-on-exec pipe that
 * tells the parent why exec failed, every other descriptor but 1 and 2
 * closed (worker connections must not stay open in the backend). */
static void run_child(const bc_child *c, int errfd, pid_t parent)
{
    setpgid(0, 0);
    /* The death signal follows the thread that forked: the main thread,
     * which lives as long as bocache. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1); /* bocache died before prctl took effect */
    reset_signals();
    if (dup2(c->fd, 0) < 0 || fcntl(0, F_SETFD, 0) < 0)
        report_and_exit(errfd);
    if (errfd != 3) {
        if (dup2(errfd, 3) < 0)
            report_and_exit(errfd);
        errfd = 3;
        fcntl(errfd, F_SETFD, FD_CLOEXEC);
    }
    close_from(4);
    execvpe(c->argv[0], c->argv, c->envp);
    report_and_exit(errfd);
}

/* ---- in bocache ---- */

static ssize_t read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int bc_child_start(bc_child *c, char *err, size_t errlen)
{
    int pfd[2];
    if (c->pid) {
        snprintf(err, errlen, "the backend already runs (pid %ld)",
                 (long)c->pid);
        return -1;
    }
    /* Children the backend leaves behind become ours, so stop can wait for
     * every one of them and none ends up a zombie. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (c->fd < 0 && open_socket(c, err, errlen) < 0)
        return -1;
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        run_child(c, pfd[1], parent);
    close(pfd[1]);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(pfd[0]);
        return -1;
    }
    /* Also here, so the group exists before anyone signals it; fails
     * harmlessly once the child has exec'd. */
    setpgid(pid, pid);
    int e = 0;
    ssize_t n = read_full(pfd[0], &e, sizeof e);
    close(pfd[0]);
    if (n != 0) {
        waitpid(pid, NULL, 0);
        snprintf(err, errlen, "cannot run %s: %s", c->argv[0],
                 n == (ssize_t)sizeof e ? strerror(e) : "exec failed");
        return -1;
    }
    c->pid = pid;
    c->started_ms = bc_now_ms();
    c->stopped = 0;
    bc_log(BC_LOG_INFO, "backend %s started, pid %ld, on %s", c->argv[0],
           (long)pid, c->path);
    return 0;
}

static void describe_status(int st, char *buf, size_t len)
{
    if (WIFEXITED(st))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else
        snprintf(buf, len, "ended with wait status %#x", (unsigned)st);
}

/* After one quick restart the socket stays open: connections wait in its
 * backlog and the restarted backend answers them, so a crash costs nothing
 * but the requests it had in hand. A backend that keeps failing gets its
 * socket closed while it is down, so requests fail fast (502) instead of
 * waiting for backend.timeout_ms each. */
static void schedule_restart(bc_child *c, int64_t ran_ms)
{
    if (ran_ms >= STABLE_RUN_MS)
        c->delay_ms = BACKOFF_FIRST_MS;
    c->restart_at_ms = bc_now_ms() + c->delay_ms;
    if (c->delay_ms > BACKOFF_FIRST_MS && c->fd >= 0) {
        close_socket(c);
        bc_log(BC_LOG_INFO, "backend socket closed until the backend runs "
                            "again; requests meanwhile get 502");
    }
    bc_log(BC_LOG_INFO, "restarting the backend in %d ms", c->delay_ms);
    c->delay_ms =
        c->delay_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->delay_ms * 2;
}

static void leader_exited(bc_child *c, int st)
{
    char what[128];
    int64_t ran = bc_now_ms() - c->started_ms;
    describe_status(st, what, sizeof what);
    bc_log(c->stopped ? BC_LOG_INFO : BC_LOG_ERROR,
           "backend %s (pid %ld) %s after %lld ms", c->argv[0], (long)c->pid,
           what, (long long)ran);
    /* Its children (php-cgi's workers) would go on accepting on the socket
     * beside the restarted backend. */
    if (kill(-c->pid, SIGTERM) == 0)
        c->orphan_pg = c->pid;
    c->pid = 0;
    if (!c->stopped)
        schedule_restart(c, ran);
}

int bc_child_on_sigchld(bc_child *c)
{
    int n = 0, st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        n++;
        if (p == c->pid)
            leader_exited(c, st);
        else
            bc_log(BC_LOG_DEBUG, "reaped pid %ld", (long)p);
    }
    return n;
}

int bc_child_timeout_ms(const bc_child *c)
{
    if (!c->restart_at_ms)
        return -1;
    int64_t left = c->restart_at_ms - bc_now_ms();
    return left < 0 ? 0 : (int)left;
}

void bc_child_tick(bc_child *c)
{
    char err[512];
    if (!c->restart_at_ms || bc_now_ms() < c->restart_at_ms)
        return;
    c->restart_at_ms = 0;
    if (bc_child_start(c, err, sizeof err) < 0) {
        bc_log(BC_LOG_ERROR, "backend restart failed: %s", err);
        schedule_restart(c, 0);
    }
}

/* ---- stopping ---- */

static void signal_groups(const pid_t *pg, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (pg[i])
            kill(-pg[i], sig);
}

/* Reaps what has exited; true once no process of the groups PG is left. */
static int groups_gone(bc_child *c, const pid_t *pg, int n)
{
    bc_child_on_sigchld(c);
    for (int i = 0; i < n; i++)
        if (pg[i] && (kill(-pg[i], 0) == 0 || errno != ESRCH))
            return 0;
    return 1;
}

static int wait_groups(bc_child *c, const pid_t *pg, int n, int ms)
{
    int64_t limit = bc_now_ms() + ms;
    struct timespec poll = {0, STOP_POLL_MS * 1000000L};
    while (!groups_gone(c, pg, n)) {
        if (bc_now_ms() >= limit)
            return -1;
        nanosleep(&poll, NULL);
    }
    return 0;
}

void bc_child_stop(bc_child *c, int grace_ms)
{
    pid_t pg[2] = {c->pid, c->orphan_pg};
    c->stopped = 1;
    c->restart_at_ms = 0;
    if (!pg[0] && !pg[1])
        return;
    if (c->pid)
        kill(c->pid, SIGTERM); /* in case it left its group */
    signal_groups(pg, 2, SIGTERM);
    if (wait_groups(c, pg, 2, grace_ms) < 0) {
        bc_log(BC_LOG_WARN, "backend did not stop within %d ms; killing it",
               grace_ms);
        if (c->pid)
            kill(c->pid, SIGKILL);
        signal_groups(pg, 2, SIGKILL);
        if (wait_groups(c, pg, 2, KILL_WAIT_MS) < 0)
            bc_log(BC_LOG_ERROR, "backend processes survived SIGKILL");
    }
    if (c->pid) {
        /* It left its group and outlived both signals: reap it anyway. */
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        c->pid = 0;
    }
    c->orphan_pg = 0;
}

void bc_child_free(bc_child *c)
{
    if (!c)
        return;
    if (c->pid || c->orphan_pg)
        bc_child_stop(c, BC_CHILD_STOP_GRACE_MS);
    close_socket(c);
    if (c->dir[0])
        rmdir(c->dir);
    free_strv(c->argv);
    free_strv(c->envp);
    free(c);
}
