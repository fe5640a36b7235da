/* responder.c: the worker pool: threads that accept FastCGI requests, and
 * one request's control flow: status page, key, lookup (fill.c), forward
 * (forward.c), store, and the invalidation after an unsafe method. */
#include "responder.h"

#include <ctype.h>
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgi_out.h"
#include "fill.h"
#include "forward.h"
#include "gateway.h"
#include "invalidate.h"
#include "key.h"
#include "log.h"
#include "message.h"
#include "reason.h"
#include "response.h"
#include "stats.h"
#include "status_page.h"
#include "store.h"
#include "worker.h"

typedef struct slot slot;

/* The worker pool. What the workers share beyond it (memory tier,
 * counters, invalidation state) is the gateway's. */
struct bc_responder {
    bc_gateway *g;
    bc_gateway_shared *sh;
    int listen_fd;
    _Atomic int stopping;
    slot *workers;
    int nworkers;
    pthread_mutex_t accept_lock; /* one worker waits for connections */
};

/* One worker thread: its request context and what the pool keeps of it. */
struct slot {
    bc_worker w;
    bc_responder *r;
    pthread_t thread;
    int started;
    /* Set while the worker waits for a request; only then may stop()
     * interrupt it, so a response being written is never cut by EINTR. */
    _Atomic int in_accept;
    bc_gateway_ref *ref; /* the configuration w.cfg is */
    unsigned generation;
};

/* Moves the worker to the configuration in force, between requests. */
static void follow_config(slot *s)
{
    bc_worker *w = &s->w;
    unsigned gen = atomic_load(&w->sh->generation);
    if (gen == s->generation)
        return;
    bc_gateway_ref *old = s->ref;
    s->ref = bc_gateway_hold(w->g);
    w->cfg = bc_gateway_ref_config(s->ref);
    s->generation = gen;
    bc_fill_reconfigure(w->fill);
    bc_store_reconfigure(w->store, w->cfg);
    bc_forward_open(w);
    bc_gateway_release(w->g, old);
}

/* ---- request variables ---- */

/* Fills w->v in one pass over the parameters; the first of a name wins,
 * as with FCGX_GetParam. A repeat of a name the key or the endpoint match
 * reads sets repeated (SPEC 4.1): the backend may read the other copy.
 * The If- headers are only compared against an entry, never keyed. */
static void scan_vars(bc_worker *w)
{
#define VAR(name, field, keyed)                                                \
    {                                                                          \
        name "=", sizeof name, offsetof(bc_req_vars, field), keyed             \
    }
    static const struct {
        const char *name; /* with the '=' */
        size_t len;
        size_t off;
        int keyed;
    } vars[] = {
        VAR("REQUEST_URI", request_uri, 1),
        VAR("DOCUMENT_URI", document_uri, 1),
        VAR("SCRIPT_NAME", script_name, 0),
        VAR("REQUEST_METHOD", method, 1),
        VAR("QUERY_STRING", query, 1),
        VAR("HTTP_IF_NONE_MATCH", if_none_match, 0),
        VAR("HTTP_IF_MODIFIED_SINCE", if_modified_since, 0),
        VAR("HTTP_AUTHORIZATION", authorization, 0),
        VAR("HTTP_COOKIE", cookie, 0),
    };
#undef VAR
    memset(&w->v, 0, sizeof w->v);
    for (char **e = w->req.envp; e && *e; e++)
        for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
            const char **field = (const char **)((char *)&w->v + vars[i].off);
            if (**e == vars[i].name[0] &&
                strncmp(*e, vars[i].name, vars[i].len) == 0) {
                if (!*field)
                    *field = *e + vars[i].len;
                else
                    w->v.repeated |= vars[i].keyed;
                break;
            }
        }
    w->v.head = w->v.method && strcmp(w->v.method, "HEAD") == 0;
}

/* Looks a request header up by its HTTP name in the CGI variables: the
 * first copy, and how many there are. */
static const char *header_lookup(void *ctx, const char *name, int *count)
{
    bc_worker *w = ctx;
    char var[128] = "HTTP_";
    size_t i = 5;
    *count = 0;
    for (; *name && i < sizeof var - 1; name++, i++)
        var[i] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
    if (*name)
        return NULL;
    /* CGI passes these two without the HTTP_ prefix. */
    const char *want = var;
    if (strcmp(var, "HTTP_CONTENT_TYPE") == 0 ||
        strcmp(var, "HTTP_CONTENT_LENGTH") == 0)
        want = var + 5;
    size_t wlen = strlen(want);
    const char *first = NULL;
    for (char **e = w->req.envp; e && *e; e++)
        if (strncmp(*e, want, wlen) == 0 && (*e)[wlen] == '=' &&
            (*count)++ == 0)
            first = *e + wlen + 1;
    return first;
}

/* Splits the request URI into path and query without copying the path
 * more than once. PATHBUF holds the path. */
static void request_view(bc_worker *w, bc_request *rq, char *pathbuf,
                         size_t cap)
{
    const char *uri = w->v.request_uri;
    if (!uri)
        uri = w->v.document_uri;
    if (!uri)
        uri = w->v.script_name;
    if (!uri)
        uri = "/";
    const char *q = strchr(uri, '?');
    size_t n = q ? (size_t)(q - uri) : strlen(uri);
    if (n >= cap)
        n = cap - 1; /* the key builder then reports it too long */
    memcpy(pathbuf, uri, n);
    pathbuf[n] = '\0';
    rq->method = w->v.method;
    if (!rq->method)
        rq->method = "GET";
    rq->path = pathbuf;
    rq->query = w->v.query;
    if (!rq->query && q)
        rq->query = q + 1;
    rq->header = header_lookup;
    rq->ctx = w;
    rq->document_uri = w->v.document_uri;
    rq->repeated_vars = w->v.repeated;
}

/* ---- invalidation after an unsafe method ---- */

/* RFC 9111 4.4: a successful answer to a method that may change state
 * (every method but the safe GET, HEAD, OPTIONS and TRACE, unknown ones
 * included) invalidates what is stored for its path. */
static int unsafe_success(const bc_worker *w, const bc_forwarded *res,
                          const char *method)
{
    static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "TRACE"};
    if (!res->head || w->out.cut || res->head->status < 200 ||
        res->head->status >= 400)
        return 0;
    for (size_t i = 0; i < sizeof safe / sizeof *safe; i++)
        if (strcmp(method, safe[i]) == 0)
            return 0;
    return 1;
}

/* Tells every process's memory tier about a path invalidation: dropped
 * here at once, and announced under an id this process claims, so the
 * other listeners only clear their memory (Redis is done). The message's
 * uris match by prefix, which over-invalidates memory a little; entries
 * there live memory_ttl seconds at most anyway, which is also all a
 * failed announcement costs, so it is not reported. */
static void announce_path(bc_worker *w, const char *path)
{
    const bc_config *cfg = w->cfg;
    char pattern[BC_KEY_MAX], err[256];
    if (bc_key_all_pattern(cfg, pattern, sizeof pattern) < 0)
        return;
    char *uris[1] = {(char *)path};
    bc_message m = {.pattern = pattern, .uris = uris, .nuris = 1};
    bc_gateway_drop_covered(w->g, cfg, &m);
    bc_invalidate_announce(w->store, cfg, &m, err, sizeof err);
}

/* Invalidates the entries of PATH[0..LEN), a path as requests send it. */
static void invalidate_path(bc_worker *w, const char *path, size_t len)
{
    char enc[BC_KEY_MAX], raw[BC_KEY_MAX];
    size_t n = bc_key_encode_segment(path, len, enc, sizeof enc);
    if (n == (size_t)-1 || len >= sizeof raw)
        return; /* longer than any key: nothing stored under it */
    memcpy(raw, path, len);
    raw[len] = '\0';
    long removed = bc_invalidate_path(w->store, w->cfg, enc, n);
    atomic_fetch_add(&w->sh->hint_gen, 1); /* it removed pass markers too */
    if (removed < 0)
        bc_log_limited(&w->sh->backend_log, BC_LOG_ERROR,
                       "%s: Redis did not take the invalidation after an "
                       "unsafe request; its entries stay until their TTL",
                       raw);
    else if (removed > 0)
        bc_log(BC_LOG_DEBUG,
               "%s: %ld entries invalidated by an unsafe "
               "request",
               raw, removed);
    if (w->sh->mem)
        announce_path(w, raw);
}

/* RFC 9111 4.4: the request's path, the path the web server resolved it
 * to when that differs, and the same-origin paths of the response's
 * Location and Content-Location headers. */
static void invalidate_unsafe(bc_worker *w, const bc_response_head *head,
                              const char *path)
{
    invalidate_path(w, path, strlen(path));
    const char *doc = w->v.document_uri;
    if (doc && strcmp(doc, path) != 0)
        invalidate_path(w, doc, strlen(doc));
    const char *host = FCGX_GetParam("HTTP_HOST", w->req.envp);
    for (size_t i = 0; i < head->nheaders; i++) {
        const bc_header *h = &head->headers[i];
        const char *p;
        size_t plen;
        if ((bc_header_is(h, "Location") ||
             bc_header_is(h, "Content-Location")) &&
            bc_response_location_path(h->value, h->value_len, host, &p, &plen))
            invalidate_path(w, p, plen);
    }
}

/* ---- one request ---- */

/* Counts a forwarded request: a miss (and why it was not stored) or a
 * bypass (and why no lookup was made). */
static void count_forward(bc_worker *w, size_t entry_len)
{
    bc_stats *s = &w->sh->stats;
    if (!bc_fill_keyed(w->outcome)) {
        bc_stats_add(s, bc_reason_bypass_stat(w->reason), 1);
        return;
    }
    bc_stats_add(s, BC_STAT_MISS, 1);
    if (entry_len > 0)
        return; /* counted by the store */
    bc_stats_add(s, bc_reason_skip_stat(w->reason), 1);
}

/* Answers the request accepted into W: the status page; else a lookup
 * when a key can be built, which may answer it; else it is forwarded, and
 * then its fill is stored or released, or after an unsafe method the
 * entries of its paths are invalidated. */
static void handle(bc_worker *w)
{
    const bc_config *cfg = w->cfg;
    bc_request rq;
    char path[BC_KEY_MAX];
    bc_fcgi_out_begin(&w->out);
    bc_fill_begin(w->fill);
    scan_vars(w);
    request_view(w, &rq, path, sizeof path);
    if (cfg->status_path[0] && strcmp(rq.path, cfg->status_path) == 0) {
        bc_status_page_serve(w);
        return;
    }
    bc_key_status ks = bc_key_build(cfg, &rq, &w->ep, w->key, sizeof w->key);
    w->outcome = BC_FILL_BYPASS;
    w->reason = bc_reason_for_key(ks);
    if (ks == BC_KEY_OK) {
        w->outcome = bc_fill_lookup(w);
        if (w->outcome == BC_FILL_SERVED)
            return;
    }
    bc_forwarded res;
    bc_forward_request(w, &res);
    count_forward(w, res.entry_len);
    if (w->outcome == BC_FILL_FILL) {
        /* Finish the client's response first: the store is off its path.
         * A cut response is ended by the caller, without END_REQUEST. */
        if (!w->out.cut)
            bc_fcgi_out_finish(&w->out);
        bc_fill_end(w, &res);
    } else if (ks != BC_KEY_NO_ENDPOINT && unsafe_success(w, &res, rq.method)) {
        /* Before END_REQUEST, so the client's next GET reads its write;
         * the response waits in libfcgi's buffer meanwhile. */
        invalidate_unsafe(w, res.head, rq.path);
        bc_fcgi_out_finish(&w->out);
    }
}

/* ---- the worker loop ---- */

/* Buffers a worker keeps between requests. Larger ones (a big body, its
 * entry, a big stale copy) are given back after the request, so a process
 * with many workers does not hold max_object_size per worker for good. */
#define BUF_KEEP (64 * 1024)

static void trim_buffers(bc_worker *w)
{
    bc_forward_trim(w->fwd, BUF_KEEP);
    bc_fill_trim(w->fill, BUF_KEEP);
    bc_fcgi_out_trim(&w->out, BUF_KEEP);
}

/* Waits, one worker at a time, until a new web server connection can be
 * accepted. With every idle worker blocked in accept() the kernel hands
 * the connections round the whole pool, each to a thread gone cold;
 * serializing the wait, as libfcgi's threaded example does, took memory
 * HITs with a connection per request from 0.75x to 0.9x of the minimal
 * responder (bench, close mode). Only the wait is serialized, not
 * libfcgi's read of the request, so a connection that sends nothing holds
 * up one worker, not the accepting of others. The listening socket is
 * non-blocking: a worker that finds the connection taken (by a worker
 * whose kept-alive connection closed, or another process) comes back.
 * Returns 0 when a connection is pending, -1 when interrupted. */
static int await_connection(bc_responder *r)
{
    struct pollfd p = {.fd = r->listen_fd, .events = POLLIN};
    pthread_mutex_lock(&r->accept_lock);
    int rc = atomic_load(&r->stopping) ? -1 : poll(&p, 1, -1);
    pthread_mutex_unlock(&r->accept_lock);
    return rc == 1 && (p.revents & POLLIN) ? 0 : -1;
}

static void *worker_main(void *arg)
{
    slot *s = arg;
    bc_worker *w = &s->w;
    bc_responder *r = s->r;
    sigset_t set;
    sigfillset(&set);
    sigdelset(&set, SIGUSR1);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
    while (!atomic_load(&r->stopping)) {
        /* A worker still holding a kept-alive web server connection
         * waits on it for the next request, outside the lock. */
        atomic_store(&s->in_accept, 1);
        int rc = -1;
        if (bc_fcgi_out_kept_alive(&w->out) || await_connection(r) == 0)
            rc = atomic_load(&r->stopping) ? -1 : FCGX_Accept_r(&w->req);
        atomic_store(&s->in_accept, 0);
        if (rc < 0)
            continue;
        follow_config(s);
        handle(w);
        bc_fcgi_out_end(&w->out);
        bc_store_idle(w->store);
        trim_buffers(w);
    }
    FCGX_Free(&w->req, 1);
    return NULL;
}

/* ---- lifecycle ---- */

static void on_wake(int sig)
{
    (void)sig; /* only there to interrupt accept() */
}

bc_responder *bc_responder_new(bc_gateway *g, int listen_fd)
{
    bc_responder *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->g = g;
    r->sh = bc_gateway_shared_of(g);
    r->listen_fd = listen_fd;
    pthread_mutex_init(&r->accept_lock, NULL);
    return r;
}

static int worker_init(bc_responder *r, slot *s)
{
    bc_worker *w = &s->w;
    s->r = r;
    w->g = r->g;
    w->sh = r->sh;
    s->ref = bc_gateway_hold(r->g);
    w->cfg = bc_gateway_ref_config(s->ref);
    s->generation = atomic_load(&r->sh->generation);
    w->store = bc_store_new(w->cfg, &r->sh->store.events);
    w->fwd = bc_forward_new();
    w->fill = bc_fill_new();
    if (!w->store || !w->fwd || !w->fill)
        return -1;
    FCGX_InitRequest(&w->req, r->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
    bc_fcgi_out_init(&w->out, &w->req);
    return bc_forward_open(w);
}

int bc_responder_start(bc_responder *r, int n, char *err, size_t errlen)
{
    struct sigaction sa = {.sa_handler = on_wake};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: accept must fail */
    int fl = fcntl(r->listen_fd, F_GETFL);
    if (fl < 0 || fcntl(r->listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        snprintf(err, errlen, "listening socket: %s", strerror(errno));
        return -1;
    }
    FCGX_Init();
    r->workers = calloc((size_t)n, sizeof *r->workers);
    if (!r->workers) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->nworkers = n;
    for (int i = 0; i < n; i++) {
        slot *s = &r->workers[i];
        if (worker_init(r, s) < 0) {
            snprintf(err, errlen, "cannot set up worker %d", i);
            return -1;
        }
        if (pthread_create(&s->thread, NULL, worker_main, s) != 0) {
            snprintf(err, errlen, "cannot start worker %d: %s", i,
                     strerror(errno));
            return -1;
        }
        s->started = 1;
    }
    return 0;
}

void bc_responder_stop(bc_responder *r)
{
    atomic_store(&r->stopping, 1);
}

void bc_responder_join(bc_responder *r)
{
    /* A worker waiting in accept() wakes on SIGUSR1; one that was between
     * its check and accept() misses a single signal, so keep signalling
     * until each has left. Workers busy with a request finish it first. */
    for (int left = r->nworkers; left > 0;) {
        left = 0;
        for (int i = 0; i < r->nworkers; i++) {
            slot *s = &r->workers[i];
            if (!s->started)
                continue;
            if (pthread_tryjoin_np(s->thread, NULL) == 0) {
                s->started = 0;
                continue;
            }
            if (atomic_load(&s->in_accept))
                pthread_kill(s->thread, SIGUSR1);
            left++;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        if (left > 0)
            nanosleep(&ts, NULL);
    }
}

void bc_responder_free(bc_responder *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nworkers; i++) {
        bc_worker *w = &r->workers[i].w;
        bc_store_free(w->store);
        bc_forward_free(w->fwd);
        bc_fill_free(w->fill);
        bc_fcgi_out_free(&w->out);
        if (r->workers[i].ref)
            bc_gateway_release(r->g, r->workers[i].ref);
    }
    free(r->workers);
    pthread_mutex_destroy(&r->accept_lock);
    free(r);
}
