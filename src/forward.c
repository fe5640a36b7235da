/* forward.c: one request to the backend, its answer streamed back to
 * the web server and collected into the entry being filled. */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "entry.h"
#include "fcgi_client.h"
#include "fill.h"
#include "log.h"
#include "revalidate.h"
#include "storable.h"

struct bc_forward {
    bc_fcgi_client *backend; /* NULL until opened */
    char *headbuf; /* the backend's head as received, BC_RESPONSE_MAX_HEAD */
    bc_response_head head;
    /* This request's, reset by bc_forward_request. */
    int storable;     /* still a candidate for the store */
    int head_done;    /* the response head was parsed and sent */
    int bad_head;     /* the backend's head was malformed */
    int use_stale;    /* serve the stale entry instead of the backend's error */
    int revalidating; /* the fill asks with the kept copy's validators */
    int not_modified; /* ... and the backend answered 304: the copy stands */
    int asked_again;  /* that 304 named another representation: the
                         request went again, without validators */
    int targeted;     /* the entry's head keeps Bocache-Cache-Control */
    bc_verdict verdict;     /* the head's, when judged */
    long content_length;    /* declared by the head, -1 when none */
    size_t head_fill;       /* bytes in headbuf */
    size_t stored_head_len; /* the head's bytes in w->out's text that the
                               entry stores */
    char tags[1024];
    size_t tags_len;
    /* The entry being filled: the body is collected straight into it, at
     * body_off, and the rest encoded in front of it at the end. */
    char *entry;
    size_t entry_cap;
    size_t body_off, body_len;
    bc_fcgi_param *params;
    size_t params_cap;
    bc_entry copy;       /* the kept copy revalidated (the fill's) */
    bc_validators vals;  /* its validators */
    char *refresh_buf;   /* BC_REVALIDATE_BUF, allocated when first used */
    char *targeted_head; /* BC_RESPONSE_MAX_HEAD, likewise: an entry head
                            with the Bocache-Cache-Control lines */
};

bc_forward *bc_forward_new(void)
{
    bc_forward *fw = calloc(1, sizeof *fw);
    if (!fw)
        return NULL;
    fw->headbuf = malloc(BC_RESPONSE_MAX_HEAD);
    if (!fw->headbuf) {
        free(fw);
        return NULL;
    }
    return fw;
}

void bc_forward_free(bc_forward *fw)
{
    if (!fw)
        return;
    bc_fcgi_client_free(fw->backend);
    free(fw->headbuf);
    free(fw->entry);
    free(fw->params);
    free(fw->refresh_buf);
    free(fw->targeted_head);
    free(fw);
}

void bc_forward_trim(bc_forward *fw, size_t keep)
{
    if (fw->entry_cap > keep) {
        free(fw->entry);
        fw->entry = NULL;
        fw->entry_cap = 0;
    }
    /* Both are larger than what a worker keeps between requests. */
    free(fw->refresh_buf);
    fw->refresh_buf = NULL;
    free(fw->targeted_head);
    fw->targeted_head = NULL;
}

static const char *backend_address(const bc_worker *w)
{
    return w->sh->backend_address ? w->sh->backend_address
                                  : w->cfg->backend.address;
}

int bc_forward_open(bc_worker *w)
{
    bc_forward *fw = w->fwd;
    const bc_config *cfg = w->cfg;
    char err[256];
    bc_fcgi_client_settings set = {
        .connect_timeout_ms = cfg->backend.connect_timeout_ms,
        .timeout_ms = cfg->backend.timeout_ms,
        .keepalive = cfg->backend.keepalive,
        .keepalive_timeout_ms = cfg->backend.keepalive_timeout_ms,
    };
    bc_fcgi_client_free(fw->backend);
    fw->backend = bc_fcgi_client_new(backend_address(w), &set, err, sizeof err);
    if (!fw->backend) {
        bc_log(BC_LOG_ERROR, "backend: %s", err);
        return -1;
    }
    return 0;
}

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
    bc_forward *fw = w->fwd;
    bc_verdict *v = &fw->verdict;
    bc_storable_judge(w->cfg, w->ep, &fw->head, request_flags(w),
                      bc_wall_ms() / 1000, v);
    fw->storable = v->why == BC_REASON_NONE;
    fw->content_length = v->content_length;
    if (v->why != BC_REASON_NONE)
        w->reason = v->why;
}

/* Collects surrogate tags, space-separated, from a tags header value (the
 * header may come more than once). */
static void take_tags(bc_worker *w, const bc_header *h)
{
    bc_forward *fw = w->fwd;
    size_t words = 0;
    if (fw->tags_len > 0 && fw->tags_len + 1 < sizeof fw->tags)
        fw->tags[fw->tags_len++] = ' ';
    for (size_t i = 0; i < h->value_len; i++) {
        char c = h->value[i] == ',' || h->value[i] == '\t' ? ' ' : h->value[i];
        if (c == ' ' &&
            (fw->tags_len == 0 || fw->tags[fw->tags_len - 1] == ' '))
            continue;
        if (fw->tags_len + 1 >= sizeof fw->tags)
            goto too_many;
        fw->tags[fw->tags_len++] = c;
    }
    while (fw->tags_len && fw->tags[fw->tags_len - 1] == ' ')
        fw->tags_len--;
    for (size_t i = 0; i < fw->tags_len; i++)
        words += i == 0 || fw->tags[i - 1] == ' ';
    if (words < BC_MAX_INDEXES)
        return;
too_many:
    /* An entry some tag invalidation could not find must not be stored. */
    fw->storable = 0;
    w->reason = BC_REASON_TOO_MANY_TAGS;
}

/* Makes the entry's head the stored lines sent plus the response's
 * Bocache-Cache-Control lines, kept for the revalidations that judge the
 * entry again (RFC 9213); they are never served (BC_ENTRY_TARGETED). */
static void keep_targeted(bc_worker *w)
{
    bc_forward *fw = w->fwd;
    if (!fw->targeted_head &&
        !(fw->targeted_head = malloc(BC_RESPONSE_MAX_HEAD)))
        return; /* stored without them: judged again by Cache-Control */
    size_t n = fw->stored_head_len;
    memcpy(fw->targeted_head, w->out.text, n);
    for (size_t i = 0; i < fw->head.nheaders; i++) {
        const bc_header *h = &fw->head.headers[i];
        /* Both come from a head of at most BC_RESPONSE_MAX_HEAD bytes. */
        if (bc_header_is(h, "Bocache-Cache-Control") &&
            n + h->line_len <= BC_RESPONSE_MAX_HEAD) {
            memcpy(fw->targeted_head + n, h->line, h->line_len);
            n += h->line_len;
        }
    }
    fw->stored_head_len = n;
    fw->targeted = 1;
}

/* Sends the parsed head to the client: the backend's lines without the tags
 * header and Bocache-Cache-Control (RFC 9213: for bocache only), then its
 * Age lines, then ours. The lines before Age are what an entry stores: a
 * hit says its own Age (RFC 9111 4.2.3). */
static int send_head(bc_worker *w)
{
    bc_forward *fw = w->fwd;
    const char *tags_header = w->cfg->cache.tags_header;
    int targeted = 0;
    w->out.len = 0;
    for (size_t i = 0; i < fw->head.nheaders; i++) {
        const bc_header *h = &fw->head.headers[i];
        if (bc_header_is(h, tags_header)) {
            take_tags(w, h);
            continue;
        }
        if (bc_header_is(h, "Bocache-Cache-Control")) {
            targeted = 1;
            continue;
        }
        if (bc_header_is(h, "Age"))
            continue;
        if (bc_fcgi_out_add(&w->out, h->line, h->line_len) < 0)
            return -1;
    }
    fw->stored_head_len = w->out.len;
    if (targeted && fw->storable)
        keep_targeted(w);
    for (size_t i = 0; i < fw->head.nheaders; i++) {
        const bc_header *h = &fw->head.headers[i];
        if (bc_header_is(h, "Age") &&
            bc_fcgi_out_add(&w->out, h->line, h->line_len) < 0)
            return -1;
    }
    const char *detail = bc_reason_token(w->reason);
    const char *fwd = fw->revalidating || fw->asked_again ? "fwd=stale"
                      : bc_fill_keyed(w->outcome)         ? "fwd=miss"
                                                          : "fwd=bypass";
    if (bc_deliver_begin_headers(w, bc_fill_xcache(w->outcome)) < 0 ||
        bc_fcgi_out_str(&w->out, fwd) < 0 ||
        (detail && (bc_fcgi_out_str(&w->out, "; detail=") < 0 ||
                    bc_fcgi_out_str(&w->out, detail) < 0)) ||
        bc_deliver_end_headers(w, -1) < 0)
        return -1;
    return bc_fcgi_out_send_text(&w->out);
}

/* Where the body starts in the encoded entry: after the head and tags,
 * which are final once the head has been sent. */
static size_t body_offset(const bc_worker *w)
{
    bc_forward *fw = w->fwd;
    bc_entry e = {.head_len = fw->stored_head_len, .tags_len = fw->tags_len};
    return bc_entry_encoded_size(&e);
}

/* Keeps body bytes for the store, giving up past max_object_size. */
static void keep_body(bc_worker *w, const char *data, size_t len)
{
    bc_forward *fw = w->fwd;
    long max = w->cfg->cache.max_object_size;
    if (!fw->storable || len == 0)
        return; /* fw->entry may be NULL after bc_forward_trim */
    if ((long)(fw->body_len + len) > max) {
        fw->storable = 0;
        w->reason = BC_REASON_TOO_LARGE;
        return;
    }
    if (fw->body_len == 0)
        fw->body_off = body_offset(w);
    size_t need = fw->body_off + fw->body_len + len;
    if (need > fw->entry_cap) {
        size_t cap = fw->entry_cap ? fw->entry_cap : 16384;
        while (cap < need)
            cap *= 2;
        char *p = realloc(fw->entry, cap);
        if (!p) {
            fw->storable = 0;
            return;
        }
        fw->entry = p;
        fw->entry_cap = cap;
    }
    memcpy(fw->entry + fw->body_off + fw->body_len, data, len);
    fw->body_len += len;
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
    bc_forward *fw = w->fwd;
    if (fw->head_done)
        return fw->not_modified ? 0 : body_data(w, data, len);
    size_t room = BC_RESPONSE_MAX_HEAD - fw->head_fill;
    size_t take = len < room ? len : room;
    memcpy(fw->headbuf + fw->head_fill, data, take);
    fw->head_fill += take;
    int rc = bc_response_parse_head(fw->headbuf, fw->head_fill, &fw->head);
    if (rc == 0 && take == len)
        return 0;
    if (rc <= 0) {
        fw->bad_head = 1;
        return -1;
    }
    if (fw->revalidating && fw->head.status == 304) {
        /* The copy stands: it is served once the answer has ended whole
         * (refresh_copy), and what a 304 should not carry is dropped. */
        fw->not_modified = 1;
        fw->head_done = 1;
        return 0;
    }
    if (fw->head.status >= 500 && bc_fill_stale_stands(w)) {
        fw->use_stale = 1; /* SPEC 7: the stale entry beats an error */
        return -1;
    }
    if (bc_fill_keyed(w->outcome) && fw->storable)
        judge_head(w);
    fw->head_done = 1;
    if (send_head(w) < 0)
        return -1;
    /* Body bytes that came with the head, then the rest of this chunk. */
    size_t extra = fw->head_fill - fw->head.head_len;
    if (body_data(w, fw->headbuf + fw->head.head_len, extra) < 0)
        return -1;
    return body_data(w, data + take, len - take);
}

static void on_stderr(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len > 0)
        bc_log(BC_LOG_WARN, "backend stderr: %.*s",
               (int)(len > 900 ? 900 : len), data);
}

static int on_flush(void *ctx)
{
    bc_worker *w = ctx;
    bc_forward *fw = w->fwd;
    if (!fw->head_done || fw->not_modified || w->out.client_gone)
        return w->out.client_gone ? -1 : 0;
    return bc_fcgi_out_flush(&w->out);
}

static int read_body(void *ctx, char *buf, size_t cap)
{
    bc_worker *w = ctx;
    return FCGX_GetStr(buf, (int)(cap > 65536 ? 65536 : cap), w->req.in);
}

/* Makes room for parameter N; 0 or -1. */
static int param_room(bc_forward *fw, size_t n)
{
    if (n < fw->params_cap)
        return 0;
    size_t cap = fw->params_cap ? fw->params_cap * 2 : 64;
    bc_fcgi_param *p = realloc(fw->params, cap * sizeof *p);
    if (!p)
        return -1;
    fw->params = p;
    fw->params_cap = cap;
    return 0;
}

static void set_param(bc_fcgi_param *p, const char *name, size_t name_len,
                      const char *value, size_t value_len)
{
    p->name = name;
    p->name_len = name_len;
    p->value = value;
    p->value_len = value_len;
}

#define NAME_AND_LEN(s) s, sizeof s - 1

/* Whether the parameter NAME[0..LEN) is a conditional a fill never passes
 * on: a fill asks for the response to store, or with the kept copy's
 * validators; the client's own are answered from the entry. */
static int client_conditional(const char *name, size_t len)
{
    static const char inm[] = "HTTP_IF_NONE_MATCH";
    static const char ims[] = "HTTP_IF_MODIFIED_SINCE";
    return (len == sizeof inm - 1 && memcmp(name, inm, len) == 0) ||
           (len == sizeof ims - 1 && memcmp(name, ims, len) == 0);
}

/* Builds the parameter list from the request's environment, unchanged but
 * for a fill's conditionals (client_conditional), and then the kept
 * copy's validators when the fill revalidates it (SPEC 6). */
static size_t collect_params(bc_worker *w)
{
    bc_forward *fw = w->fwd;
    int fill = w->outcome == BC_FILL_FILL;
    size_t n = 0;
    for (char **e = w->req.envp; e && *e; e++) {
        if (param_room(fw, n) < 0)
            break;
        const char *eq = strchr(*e, '=');
        size_t nl = eq ? (size_t)(eq - *e) : strlen(*e);
        if (fill && client_conditional(*e, nl))
            continue;
        set_param(&fw->params[n++], *e, nl, eq ? eq + 1 : "",
                  eq ? strlen(eq + 1) : 0);
    }
    const bc_validators *v = &fw->vals;
    if (fw->revalidating && v->etag && param_room(fw, n) == 0)
        set_param(&fw->params[n++], NAME_AND_LEN("HTTP_IF_NONE_MATCH"), v->etag,
                  v->etag_len);
    if (fw->revalidating && v->lm && param_room(fw, n) == 0)
        set_param(&fw->params[n++], NAME_AND_LEN("HTTP_IF_MODIFIED_SINCE"),
                  v->lm, v->lm_len);
    return n;
}

/* Encodes the response kept in the fill as an entry; returns its size or 0.
 * A body other than the length the head declared is a backend fault the
 * web server may have framed differently: passed on, never stored. */
static size_t encode_entry(bc_worker *w)
{
    bc_forward *fw = w->fwd;
    if (fw->content_length >= 0 && (long)fw->body_len != fw->content_length) {
        fw->storable = 0;
        w->reason = BC_REASON_MALFORMED;
        return 0;
    }
    const bc_verdict *v = &fw->verdict;
    bc_entry e = {
        .status = fw->head.status,
        .flags = v->flags | (fw->targeted ? BC_ENTRY_TARGETED : 0u),
        .created_ms = bc_wall_ms(),
        .ttl = (uint32_t)v->ttl,
        .stale_ttl = (uint32_t)v->stale_ttl,
        .error_ttl = (uint32_t)v->error_ttl,
        .initial_age = (uint32_t)v->age,
        .head = fw->targeted ? fw->targeted_head : w->out.text,
        .head_len = fw->stored_head_len,
        .tags = fw->tags,
        .tags_len = fw->tags_len,
        .body_len = fw->body_len,
    };
    size_t need = bc_entry_encoded_size(&e);
    /* The body was collected in place (keep_body): what goes in front of
     * it must still be the size it was then. */
    if (fw->body_len > 0 && need - fw->body_len != fw->body_off)
        return 0;
    if (need > fw->entry_cap) {
        char *p = realloc(fw->entry, need);
        if (!p)
            return 0;
        fw->entry = p;
        fw->entry_cap = need;
    }
    if (fw->body_len > 0)
        e.body = fw->entry + fw->body_off; /* left in place, not copied */
    return bc_entry_encode(&e, fw->entry, fw->entry_cap);
}

/* Encodes entry E, judged V, for the store into fw->entry, its tags into
 * fw->tags; returns its size, or 0. */
static size_t encode_refreshed(bc_forward *fw, const bc_entry *e,
                               const bc_verdict *v)
{
    size_t need = bc_entry_encoded_size(e);
    if (e->tags_len > sizeof fw->tags)
        return 0;
    if (need > fw->entry_cap) {
        char *p = realloc(fw->entry, need);
        if (!p)
            return 0;
        fw->entry = p;
        fw->entry_cap = need;
    }
    memcpy(fw->tags, e->tags, e->tags_len);
    fw->tags_len = e->tags_len;
    fw->verdict = *v;
    return bc_entry_encode(e, fw->entry, fw->entry_cap);
}

/* The backend said the kept copy is current: a 304 to the revalidation,
 * or a 200 to HEAD with the copy's validators. The copy updated by the
 * answer's fields (bc_revalidate_refresh) is served when SERVE (a 304:
 * the client has had nothing yet) and returned encoded for the store
 * when it may be stored; else 0, with the reason in w->reason. */
static size_t refresh_copy(bc_worker *w, int serve)
{
    bc_forward *fw = w->fwd;
    bc_refreshed r;
    if (!serve) /* bc_deliver_entry counts what it serves */
        bc_stats_add(&w->sh->stats, BC_STAT_REVALIDATED, 1);
    if ((!fw->refresh_buf && !(fw->refresh_buf = malloc(BC_REVALIDATE_BUF))) ||
        bc_revalidate_refresh(w->cfg, w->ep, &fw->copy, &fw->head,
                              request_flags(w), bc_wall_ms(), fw->refresh_buf,
                              &r) < 0) {
        /* The copy, as it was, is what the backend confirmed. */
        if (serve)
            bc_deliver_entry(w, &fw->copy,
                             (long)bc_entry_age(&fw->copy, bc_wall_ms()),
                             BC_SERVED_REVALIDATED);
        w->reason = BC_REASON_MALFORMED;
        return 0;
    }
    if (serve)
        bc_deliver_entry(w, &r.entry, (long)r.entry.initial_age,
                         BC_SERVED_REVALIDATED);
    if (r.verdict.why != BC_REASON_NONE) {
        w->reason = r.verdict.why;
        return 0;
    }
    return encode_refreshed(fw, &r.entry, &r.verdict);
}

static void log_backend_failure(bc_worker *w, bc_backend_status st)
{
    bc_forward *fw = w->fwd;
    if (st == BC_BACKEND_ABORTED && !fw->use_stale)
        return;
    bc_stats_add(&w->sh->stats, BC_STAT_BACKEND_ERRORS, 1);
    bc_log_limited(&w->sh->backend_log, BC_LOG_ERROR, "backend %s: %s",
                   backend_address(w), bc_fcgi_client_error(fw->backend));
}

/* Clears what one exchange with the backend found out. */
static void begin_exchange(bc_forward *fw)
{
    fw->head_done = 0;
    fw->bad_head = 0;
    fw->use_stale = 0;
    fw->not_modified = 0;
    fw->targeted = 0;
    memset(&fw->verdict, 0, sizeof fw->verdict);
    fw->content_length = -1;
    fw->head_fill = 0;
    fw->stored_head_len = 0;
    fw->tags_len = 0;
    fw->body_len = 0;
}

/* Whether the client sent a request body, which the exchange has read. */
static int has_body(const bc_worker *w)
{
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", w->req.envp);
    return cl && cl[0] && strcmp(cl, "0") != 0;
}

static size_t exchange(bc_worker *w);

/* The backend's 304 is about another representation than the copy (RFC
 * 9111 4.3.4: it must not refresh it), so the copy is not what the
 * backend has now: the request goes again, as the client sent it, and
 * its answer is served and fills the entry. A request whose body was
 * read cannot be sent again: 502. */
static size_t ask_again(bc_worker *w)
{
    bc_forward *fw = w->fwd;
    int gone = has_body(w);
    bc_log_limited(&w->sh->backend_log, BC_LOG_WARN,
                   "backend %s: a 304 to a revalidation named another ETag "
                   "or Last-Modified than the stored response; %s",
                   backend_address(w),
                   gone ? "answered 502 (the request body is gone)"
                        : "asked again without validators");
    if (gone) {
        fw->storable = 0;
        w->reason = BC_REASON_MALFORMED;
        bc_deliver_error(w, 502, "Bad Gateway");
        return 0;
    }
    begin_exchange(fw);
    fw->revalidating = 0;
    fw->asked_again = 1;
    return exchange(w);
}

/* Forwards the request; returns the encoded entry size when the response
 * should be stored after the request is finished, else 0. */
static size_t exchange(bc_worker *w)
{
    bc_forward *fw = w->fwd;
    if (!fw->backend && bc_forward_open(w) < 0) {
        bc_deliver_error(w, 502, "Bad Gateway");
        return 0;
    }
    bc_fcgi_sink sink = {on_stdout, on_stderr, on_flush, w};
    size_t n = collect_params(w);
    bc_backend_status st =
        bc_fcgi_client_request(fw->backend, fw->params, n, read_body, w, &sink);
    if ((st == BC_BACKEND_OK || st == BC_BACKEND_UNCLEAN) && !fw->head_done) {
        /* The stream ended inside or before the head: whatever the
         * connection carries next is not to be trusted either. */
        bc_fcgi_client_close(fw->backend);
        fw->bad_head = 1;
        st = BC_BACKEND_PROTOCOL;
    }
    if (fw->not_modified && st != BC_BACKEND_OK) {
        /* The 304 came, its exchange did not end clean: the copy it
         * confirmed is served, never stored on its word. */
        if (st != BC_BACKEND_ABORTED)
            log_backend_failure(w, st);
        refresh_copy(w, 1);
        fw->storable = 0;
        w->reason = BC_REASON_MALFORMED;
        return 0;
    }
    if (st == BC_BACKEND_UNCLEAN) {
        /* SPEC 6: the answer ended with its END_REQUEST but the exchange
         * was not clean (another request's records, a protocolStatus, bytes
         * after the end). It goes to the client as it came and is never
         * stored; the client closed the connection. */
        fw->storable = 0;
        if (bc_fill_keyed(w->outcome))
            w->reason = BC_REASON_MALFORMED;
        log_backend_failure(w, st);
        return 0;
    }
    if (st != BC_BACKEND_OK && !fw->head_done && bc_fill_has_stale(w->fill) &&
        (fw->use_stale || bc_fill_stale_stands(w))) {
        log_backend_failure(w, st);
        bc_fill_serve_stale(w);
        return 0;
    }
    if (st != BC_BACKEND_OK) {
        if (fw->bad_head)
            bc_stats_add(&w->sh->stats, BC_STAT_BACKEND_ERRORS, 1);
        if (fw->bad_head)
            bc_log_limited(&w->sh->backend_log, BC_LOG_ERROR,
                           "backend %s: malformed or missing response head",
                           backend_address(w));
        else
            log_backend_failure(w, st);
        if (!fw->head_done && (st != BC_BACKEND_ABORTED || fw->bad_head))
            bc_deliver_error(w, st == BC_BACKEND_TIMEOUT ? 504 : 502,
                             st == BC_BACKEND_TIMEOUT ? "Gateway Timeout"
                                                      : "Bad Gateway");
        /* Past the head the only honest signal left is to cut the stream:
         * the web server then sees a truncated response, not a complete
         * short one. */
        if (fw->head_done && !w->out.client_gone)
            w->out.cut = 1;
        return 0;
    }
    if (fw->not_modified && !bc_revalidate_selects(&fw->vals, &fw->head))
        return ask_again(w);
    if (fw->not_modified)
        return refresh_copy(w, 1);
    /* A HEAD's 200 that describes the copy refreshes its headers (RFC
     * 9111 4.3.5); one that does not leaves the entry to the next GET. */
    if (w->v.head && fw->revalidating && fw->head.status == 200 &&
        bc_revalidate_matches(&fw->vals, &fw->head, fw->copy.body_len))
        return refresh_copy(w, 0);
    if (!bc_fill_keyed(w->outcome) || !fw->storable || w->out.client_gone ||
        w->v.head)
        return 0;
    return encode_entry(w);
}

void bc_forward_request(bc_worker *w, bc_forwarded *out)
{
    bc_forward *fw = w->fwd;
    /* Only the filler's response may be stored. */
    fw->storable = w->outcome == BC_FILL_FILL;
    begin_exchange(fw);
    fw->asked_again = 0;
    fw->revalidating = w->outcome == BC_FILL_FILL &&
                       bc_fill_copy(w->fill, &fw->copy) &&
                       bc_revalidate_validators(&fw->copy, &fw->vals);
    size_t entry_len = exchange(w);
    out->head = fw->head_done ? &fw->head : NULL;
    out->entry = fw->entry;
    out->entry_len = entry_len;
    out->keep = entry_len > 0 ? bc_storable_keep(&fw->verdict) : 0;
    out->tags = fw->tags;
    out->tags_len = fw->tags_len;
}
