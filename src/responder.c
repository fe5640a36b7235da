/* responder.c: worker threads that accept FastCGI requests, serve hits from
 * Redis and forward everything else to the backend, storing what may be
 * stored. */
#include "responder.h"

#include <ctype.h>
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cache_control.h"
#include "entry.h"
#include "fcgi_client.h"
#include "deliver.h"
#include "fcgi_out.h"
#include "fill.h"
#include "fill_policy.h"
#include "gateway.h"
#include "fcgi_record.h"
#include "invalidate.h"
#include "key.h"
#include "log.h"
#include "memtier.h"
#include "misspred.h"
#include "passhint.h"
#include "reason.h"
#include "status_page.h"
#include "response.h"
#include "storable.h"
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

/* ---- configuration ---- */

static const char *backend_address(const bc_worker *w)
{
    return w->sh->backend_address ? w->sh->backend_address
                                  : w->cfg->backend.address;
}

static int open_backend(bc_worker *w)
{
    const bc_config *cfg = w->cfg;
    char err[256];
    bc_fcgi_client_settings set = {
        .connect_timeout_ms = cfg->backend.connect_timeout_ms,
        .timeout_ms = cfg->backend.timeout_ms,
        .keepalive = cfg->backend.keepalive,
        .keepalive_timeout_ms = cfg->backend.keepalive_timeout_ms,
    };
    bc_fcgi_client_free(w->backend);
    w->backend = bc_fcgi_client_new(backend_address(w), &set, err, sizeof err);
    if (!w->backend) {
        bc_log(BC_LOG_ERROR, "backend: %s", err);
        return -1;
    }
    return 0;
}

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
    open_backend(w);
    bc_gateway_release(w->g, old);
}

/* Fills w->v in one pass over the parameters; the first of a name wins,
 * as with FCGX_GetParam. A repeat of a name the key or the endpoint match
 * reads sets repeated (SPEC 4.1): the backend may read the other copy.
 * The If- headers are only compared against an entry, never keyed. */
static void scan_vars(bc_worker *w)
{
#define VAR(name, field, keyed)                                            \
    {name "=", sizeof name, offsetof(bc_req_vars, field), keyed}
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
            const char **field =
                (const char **)((char *)&w->v + vars[i].off);
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

/* ---- forwarding ---- */

/* What of the request the storability verdict depends on. */
static unsigned request_flags(const bc_worker *w)
{
    return (w->v.authorization ? BC_REQ_AUTHORIZATION : 0u) |
           (w->v.cookie ? BC_REQ_COOKIE : 0u);
}

/* Decides from the head whether the response may be stored; sets the
 * reason it may not. */
static void judge_head(bc_worker *w)
{
    bc_worker_fill *f = &w->f;
    bc_verdict v;
    bc_storable_judge(w->cfg, w->ep, &w->head, request_flags(w), &v);
    f->storable = v.why == BC_REASON_NONE;
    f->ttl = v.ttl;
    f->content_length = v.content_length;
    if (v.why != BC_REASON_NONE)
        w->reason = v.why;
}

/* Collects surrogate tags, space-separated, from a tags header value (the
 * header may come more than once). */
static void take_tags(bc_worker *w, const bc_header *h)
{
    bc_worker_fill *f = &w->f;
    size_t words = 0;
    if (f->tags_len > 0 && f->tags_len + 1 < sizeof f->tags)
        f->tags[f->tags_len++] = ' ';
    for (size_t i = 0; i < h->value_len; i++) {
        char c = h->value[i] == ',' || h->value[i] == '\t' ? ' ' : h->value[i];
        if (c == ' ' && (f->tags_len == 0 || f->tags[f->tags_len - 1] == ' '))
            continue;
        if (f->tags_len + 1 >= sizeof f->tags)
            goto too_many;
        f->tags[f->tags_len++] = c;
    }
    while (f->tags_len && f->tags[f->tags_len - 1] == ' ')
        f->tags_len--;
    for (size_t i = 0; i < f->tags_len; i++)
        words += i == 0 || f->tags[i - 1] == ' ';
    if (words < BC_MAX_INDEXES)
        return;
too_many:
    /* An entry some tag invalidation could not find must not be stored. */
    f->storable = 0;
    w->reason = BC_REASON_TOO_MANY_TAGS;
}

/* Sends the parsed head to the client: the backend's lines without the tags
 * header, then ours. The same lines are what an entry stores. */
static int send_head(bc_worker *w)
{
    bc_worker_fill *f = &w->f;
    const char *tags_header = w->cfg->cache.tags_header;
    w->out.len = 0;
    for (size_t i = 0; i < w->head.nheaders; i++) {
        const bc_header *h = &w->head.headers[i];
        if (bc_header_is(h, tags_header)) {
            take_tags(w, h);
            continue;
        }
        if (bc_fcgi_out_add(&w->out, h->line, h->line_len) < 0)
            return -1;
    }
    f->stored_head_len = w->out.len;
    const char *detail = bc_reason_token(w->reason);
    if (bc_deliver_begin_headers(w, bc_fill_xcache(w->outcome)) < 0 ||
        bc_fcgi_out_str(&w->out, bc_fill_keyed(w->outcome) ? "fwd=miss"
                                                           : "fwd=bypass") <
            0 ||
        (detail && (bc_fcgi_out_str(&w->out, "; detail=") < 0 ||
                    bc_fcgi_out_str(&w->out, detail) < 0)) ||
        bc_deliver_end_headers(w, -1) < 0)
        return -1;
    return bc_fcgi_out_send_text(&w->out);
}

/* Keeps body bytes for the store, giving up past max_object_size. */
/* Where the body starts in the encoded entry: after the head and tags,
 * which are final once the head has been sent. */
static size_t body_offset(const bc_worker *w)
{
    bc_entry e = {.head_len = w->f.stored_head_len,
                  .tags_len = w->f.tags_len};
    return bc_entry_encoded_size(&e);
}

static void keep_body(bc_worker *w, const char *data, size_t len)
{
    bc_worker_fill *f = &w->f;
    long max = w->cfg->cache.max_object_size;
    if (!f->storable || len == 0)
        return; /* w->entry may be NULL after trim_buffers */
    if ((long)(w->body_len + len) > max) {
        f->storable = 0;
        w->reason = BC_REASON_TOO_LARGE;
        return;
    }
    if (w->body_len == 0)
        w->body_off = body_offset(w);
    size_t need = w->body_off + w->body_len + len;
    if (need > w->entry_cap) {
        size_t cap = w->entry_cap ? w->entry_cap : 16384;
        while (cap < need)
            cap *= 2;
        char *p = realloc(w->entry, cap);
        if (!p) {
            f->storable = 0;
            return;
        }
        w->entry = p;
        w->entry_cap = cap;
    }
    memcpy(w->entry + w->body_off + w->body_len, data, len);
    w->body_len += len;
}

static int body_data(bc_worker *w, const char *data, size_t len)
{
    keep_body(w, data, len);
    return bc_fcgi_out_put(&w->out, data, len);
}

/* Sink: accumulates the head, then streams the body. */
static int on_stdout(void *ctx, const char *data, size_t len)
{
    bc_worker *w = ctx;
    bc_worker_fill *f = &w->f;
    if (f->head_done)
        return body_data(w, data, len);
    size_t room = BC_RESPONSE_MAX_HEAD - f->head_fill;
    size_t take = len < room ? len : room;
    memcpy(w->headbuf + f->head_fill, data, take);
    f->head_fill += take;
    int rc = bc_response_parse_head(w->headbuf, f->head_fill, &w->head);
    if (rc == 0 && take == len)
        return 0;
    if (rc <= 0) {
        f->bad_head = 1;
        return -1;
    }
    if (w->head.status >= 500 && bc_fill_stale_stands(w)) {
        f->use_stale = 1; /* SPEC 7: the stale entry beats an error */
        return -1;
    }
    if (bc_fill_keyed(w->outcome) && f->storable)
        judge_head(w);
    f->head_done = 1;
    if (send_head(w) < 0)
        return -1;
    /* Body bytes that came with the head, then the rest of this chunk. */
    size_t extra = f->head_fill - w->head.head_len;
    if (body_data(w, w->headbuf + w->head.head_len, extra) < 0)
        return -1;
    return body_data(w, data + take, len - take);
}

static void on_stderr(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len > 0)
        bc_log(BC_LOG_WARN, "backend stderr: %.*s", (int)(len > 900 ? 900 : len),
               data);
}

static int on_flush(void *ctx)
{
    bc_worker *w = ctx;
    if (!w->f.head_done || w->out.client_gone)
        return w->out.client_gone ? -1 : 0;
    return bc_fcgi_out_flush(&w->out);
}

static int read_body(void *ctx, char *buf, size_t cap)
{
    bc_worker *w = ctx;
    return FCGX_GetStr(buf, (int)(cap > 65536 ? 65536 : cap), w->req.in);
}

/* Builds the parameter list from the request's environment, unchanged. */
static size_t collect_params(bc_worker *w)
{
    size_t n = 0;
    for (char **e = w->req.envp; e && *e; e++) {
        if (n == w->params_cap) {
            size_t cap = w->params_cap ? w->params_cap * 2 : 64;
            bc_fcgi_param *p = realloc(w->params, cap * sizeof *p);
            if (!p)
                break;
            w->params = p;
            w->params_cap = cap;
        }
        const char *eq = strchr(*e, '=');
        size_t nl = eq ? (size_t)(eq - *e) : strlen(*e);
        w->params[n].name = *e;
        w->params[n].name_len = nl;
        w->params[n].value = eq ? eq + 1 : "";
        w->params[n].value_len = eq ? strlen(eq + 1) : 0;
        n++;
    }
    return n;
}

/* Encodes the response kept in the fill as an entry; returns its size or 0.
 * A body other than the length the head declared is a backend fault the
 * web server may have framed differently: passed on, never stored. */
static size_t encode_entry(bc_worker *w)
{
    bc_worker_fill *f = &w->f;
    if (f->content_length >= 0 && (long)w->body_len != f->content_length) {
        f->storable = 0;
        w->reason = BC_REASON_MALFORMED;
        return 0;
    }
    bc_entry e = {
        .status = w->head.status,
        .created_ms = bc_wall_ms(),
        .ttl = (uint32_t)f->ttl,
        .stale_ttl = (uint32_t)w->ep->stale_ttl,
        .head = w->out.text,
        .head_len = f->stored_head_len,
        .tags = f->tags,
        .tags_len = f->tags_len,
        .body_len = w->body_len,
    };
    size_t need = bc_entry_encoded_size(&e);
    /* The body was collected in place (keep_body): what goes in front of
     * it must still be the size it was then. */
    if (w->body_len > 0 && need - w->body_len != w->body_off)
        return 0;
    if (need > w->entry_cap) {
        char *p = realloc(w->entry, need);
        if (!p)
            return 0;
        w->entry = p;
        w->entry_cap = need;
    }
    if (w->body_len > 0)
        e.body = w->entry + w->body_off; /* left in place, not copied */
    return bc_entry_encode(&e, w->entry, w->entry_cap);
}

static void log_backend_failure(bc_worker *w, bc_backend_status st)
{
    if (st == BC_BACKEND_ABORTED && !w->f.use_stale)
        return;
    bc_stats_add(&w->sh->stats, BC_STAT_BACKEND_ERRORS, 1);
    bc_log_limited(&w->sh->backend_log, BC_LOG_ERROR, "backend %s: %s",
                   backend_address(w), bc_fcgi_client_error(w->backend));
}

/* Forwards the request; returns the encoded entry size when the response
 * should be stored after the request is finished, else 0. */
static size_t forward(bc_worker *w)
{
    bc_worker_fill *f = &w->f;
    w->body_len = 0;
    if (!w->backend && open_backend(w) < 0) {
        bc_deliver_error(w, 502, "Bad Gateway");
        return 0;
    }
    bc_fcgi_sink sink = {on_stdout, on_stderr, on_flush, w};
    size_t n = collect_params(w);
    bc_backend_status st =
        bc_fcgi_client_request(w->backend, w->params, n, read_body, w, &sink);
    if ((st == BC_BACKEND_OK || st == BC_BACKEND_UNCLEAN) && !f->head_done) {
        /* The stream ended inside or before the head: whatever the
         * connection carries next is not to be trusted either. */
        bc_fcgi_client_close(w->backend);
        f->bad_head = 1;
        st = BC_BACKEND_PROTOCOL;
    }
    if (st == BC_BACKEND_UNCLEAN) {
        /* SPEC 6: the answer ended with its END_REQUEST but the exchange
         * was not clean (another request's records, a protocolStatus, bytes
         * after the end). It goes to the client as it came and is never
         * stored; the client closed the connection. */
        f->storable = 0;
        if (bc_fill_keyed(w->outcome))
            w->reason = BC_REASON_MALFORMED;
        log_backend_failure(w, st);
        return 0;
    }
    if (st != BC_BACKEND_OK && !f->head_done && bc_fill_has_stale(w->fill) &&
        (f->use_stale || bc_fill_stale_stands(w))) {
        log_backend_failure(w, st);
        bc_fill_serve_stale(w);
        return 0;
    }
    if (st != BC_BACKEND_OK) {
        if (f->bad_head)
            bc_stats_add(&w->sh->stats, BC_STAT_BACKEND_ERRORS, 1);
        if (f->bad_head)
            bc_log_limited(&w->sh->backend_log, BC_LOG_ERROR,
                           "backend %s: malformed or missing response head",
                           backend_address(w));
        else
            log_backend_failure(w, st);
        if (!f->head_done && (st != BC_BACKEND_ABORTED || f->bad_head))
            bc_deliver_error(w, st == BC_BACKEND_TIMEOUT ? 504 : 502,
                       st == BC_BACKEND_TIMEOUT ? "Gateway Timeout"
                                                : "Bad Gateway");
        /* Past the head the only honest signal left is to cut the stream:
         * the web server then sees a truncated response, not a complete
         * short one. */
        if (f->head_done && !w->out.client_gone)
            w->out.cut = 1;
        return 0;
    }
    if (!bc_fill_keyed(w->outcome) || !f->storable || w->out.client_gone ||
        w->v.head)
        return 0;
    return encode_entry(w);
}

/* ---- one request ---- */

static void reset_fill(bc_worker *w)
{
    bc_fcgi_out_begin(&w->out);
    bc_fill_begin(w->fill);
    memset(&w->f, 0, sizeof w->f);
    w->f.content_length = -1;
}

/* RFC 9111 4.4: a successful answer to a method that may change state
 * (every method but the safe GET, HEAD, OPTIONS and TRACE, unknown ones
 * included) invalidates what is stored for its path. */
static int unsafe_success(const bc_worker *w, const char *method)
{
    static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "TRACE"};
    int status = w->head.status;
    if (!w->f.head_done || w->out.cut || status < 200 || status >= 400)
        return 0;
    for (size_t i = 0; i < sizeof safe / sizeof *safe; i++)
        if (strcmp(method, safe[i]) == 0)
            return 0;
    return 1;
}

/* Tells every process's memory tier about a path invalidation: dropped
 * here at once, and published with an id this process has already claimed,
 * so the other listeners only clear their memory (Redis is done). The
 * message's uris match by prefix, which over-invalidates memory a little;
 * entries there live memory_ttl seconds at most anyway. */
static void announce_path(bc_worker *w, const char *path)
{
    const bc_config *cfg = w->cfg;
    char pattern[BC_KEY_MAX], id[40];
    unsigned char rnd[16];
    int n = snprintf(pattern, sizeof pattern, "%s:*", cfg->redis.prefix);
    if (n < 0 || (size_t)n >= sizeof pattern)
        return;
    char *uris[1] = {(char *)path};
    bc_message m = {.pattern = pattern, .uris = uris, .nuris = 1};
    bc_gateway_drop_covered(w->g, cfg, &m);
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return;
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(id + 2 * i, 3, "%02x", rnd[i]);
    m.id = id;
    char *json = bc_message_encode(&m);
    if (json && bc_invalidate_claim(w->store, cfg, id) == 1)
        bc_store_publish(w->store, cfg->redis.channel, json, strlen(json));
    free(json);
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
        bc_log(BC_LOG_DEBUG, "%s: %ld entries invalidated by an unsafe "
                             "request", raw, removed);
    if (w->sh->mem)
        announce_path(w, raw);
}

/* RFC 9111 4.4: the request's path, the path the web server resolved it
 * to when that differs, and the same-origin paths of the response's
 * Location and Content-Location headers. */
static void invalidate_unsafe(bc_worker *w, const char *path)
{
    invalidate_path(w, path, strlen(path));
    const char *doc = w->v.document_uri;
    if (doc && strcmp(doc, path) != 0)
        invalidate_path(w, doc, strlen(doc));
    const char *host = FCGX_GetParam("HTTP_HOST", w->req.envp);
    for (size_t i = 0; i < w->head.nheaders; i++) {
        const bc_header *h = &w->head.headers[i];
        const char *p;
        size_t plen;
        if ((bc_header_is(h, "Location") ||
             bc_header_is(h, "Content-Location")) &&
            bc_response_location_path(h->value, h->value_len, host, &p,
                                      &plen))
            invalidate_path(w, p, plen);
    }
}

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

static void handle(bc_worker *w)
{
    const bc_config *cfg = w->cfg;
    bc_request rq;
    char path[BC_KEY_MAX];
    reset_fill(w);
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
        /* Only the filler's response may be stored. */
        w->f.storable = w->outcome == BC_FILL_FILL;
    }
    size_t entry_len = forward(w);
    count_forward(w, entry_len);
    if (w->outcome == BC_FILL_FILL) {
        /* Finish the client's response first: the store is off its path.
         * A cut response is ended by the caller, without END_REQUEST. */
        if (!w->out.cut)
            bc_fcgi_out_finish(&w->out);
        bc_fill_end(w, entry_len);
    } else if (ks != BC_KEY_NO_ENDPOINT && unsafe_success(w, rq.method)) {
        /* Before END_REQUEST, so the client's next GET reads its write;
         * the response waits in libfcgi's buffer meanwhile. */
        invalidate_unsafe(w, rq.path);
        bc_fcgi_out_finish(&w->out);
    }
}

/* Buffers a worker keeps between requests. Larger ones (a big body, its
 * entry, a big stale copy) are given back after the request, so a process
 * with many workers does not hold max_object_size per worker for good. */
#define BUF_KEEP (64 * 1024)

static void trim(char **buf, size_t *cap)
{
    if (*cap > BUF_KEEP) {
        free(*buf);
        *buf = NULL;
        *cap = 0;
    }
}

static void trim_buffers(bc_worker *w)
{
    trim(&w->entry, &w->entry_cap);
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
        if (w->req.ipcFd >= 0 || await_connection(r) == 0)
            rc = atomic_load(&r->stopping) ? -1 : FCGX_Accept_r(&w->req);
        atomic_store(&s->in_accept, 0);
        if (rc < 0)
            continue;
        follow_config(s);
        handle(w);
        /* The body read with the backend's last records may still be
         * queued (the client's read loop ends without a flush). */
        if (w->out.npend > 0)
            bc_fcgi_out_flush(&w->out);
        if (w->out.cut)
            FCGX_Free(&w->req, 1);
        else
            bc_fcgi_out_finish(&w->out);
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
    w->store = bc_store_new(w->cfg, &r->sh->store);
    w->headbuf = malloc(BC_RESPONSE_MAX_HEAD);
    w->fill = bc_fill_new();
    if (!w->store || !w->headbuf || !w->fill)
        return -1;
    FCGX_InitRequest(&w->req, r->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
    bc_fcgi_out_init(&w->out, &w->req);
    return open_backend(w);
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
        bc_fcgi_client_free(w->backend);
        free(w->headbuf);
        bc_fill_free(w->fill);
        bc_fcgi_out_free(&w->out);
        free(w->entry);
        free(w->params);
        if (r->workers[i].ref)
            bc_gateway_release(r->g, r->workers[i].ref);
    }
    free(r->workers);
    pthread_mutex_destroy(&r->accept_lock);
    free(r);
}
