/* store.c: Redis access: one connection per store, bounded waits,
 * fail-open with reconnect backoff, pipelines for the lease protocol. */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "log.h"
#include "store_conn.h"

/* Reconnect backoff: the first retry is quick so a Redis restart costs only a
 * few bypassed requests; it doubles up to a ceiling so a dead Redis costs one
 * refused connect per worker every few seconds, not one per request. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* Replies sent without waiting that may be outstanding at once: a fill's
 * store with every index it may have, and a lease's extension. */
#define MAX_PENDING 64

struct bc_store {
    const bc_config *cfg;
    bc_store_events ev;
    redisContext *ctx;
    redisReply *last; /* reply whose bytes a lookup handed out */
    /* Replies sent without waiting (bc_store_defer), not read yet, each
     * with the name its error is reported by. */
    int pending;
    const char *labels[MAX_PENDING];
    int verdict;      /* 1-based: which of them is a conditional write's */
    char *undo_key;   /* removed again if that write's batch failed before */
    int verdict_from; /* 1-based: where the verdict's batch starts */
    int64_t retry_at_ms;
    int backoff_ms;
    int was_down;   /* reported a fault since the last good connection */
    int timeout_ms; /* 0: redis.timeout_ms */
    char errstr[256];
};

bc_store *(bc_store_new)(const bc_config *cfg, const bc_store_events *events)
{
    bc_store *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->cfg = cfg;
    if (events)
        st->ev = *events;
    st->backoff_ms = BACKOFF_MIN_MS;
    return st;
}

const char *bc_store_error(const bc_store *st)
{
    return st->errstr;
}

const char *bc_store_address(const bc_store *st)
{
    return st->cfg->redis.address;
}

int bc_store_timeout_ms(const bc_store *st)
{
    return st->timeout_ms ? st->timeout_ms : st->cfg->redis.timeout_ms;
}

redisContext *bc_store_context(bc_store *st)
{
    return st->ctx;
}

static void report(const bc_store *st, bc_store_event ev)
{
    if (st->ev.on_event)
        st->ev.on_event(st->ev.ctx, st, ev);
}

static void set_error(bc_store *st, const char *fmt, va_list ap)
{
    vsnprintf(st->errstr, sizeof st->errstr, fmt, ap);
}

int bc_store_refused(bc_store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(st, fmt, ap);
    va_end(ap);
    report(st, BC_STORE_REFUSED);
    return -1;
}

static void free_last(bc_store *st)
{
    if (st->last) {
        freeReplyObject(st->last);
        st->last = NULL;
    }
}

static void fault(bc_store *st, const char *what, const char *detail);

/* The operator's words for a transport error: hiredis reports a timeout
 * of its socket as "Resource temporarily unavailable". SENDING tells
 * whether a write or a read timed out. */
static const char *io_error(const bc_store *st, int sending)
{
    if (st->ctx->err == REDIS_ERR_IO && errno == EAGAIN)
        return sending ? "could not send within redis.timeout_ms"
                       : "no answer within redis.timeout_ms";
    return st->ctx->errstr;
}

/* Removes the entry of a conditional write that landed although a write
 * before it in its batch (an index entry) failed: an entry that no index
 * lists would escape the tag and path invalidations that cover it. With
 * MORE_QUEUED (another pipeline's commands already wait in the output
 * buffer, their replies unread) the UNLINK goes after them without
 * waiting, read with the next batch; otherwise it is run at once. */
static void undo_write(bc_store *st, const char *key, int more_queued)
{
    bc_store_refused(st, "a fill's index entries failed; its entry is "
                         "removed again");
    const char *argv[] = {"UNLINK", key};
    redisAppendCommandArgv(st->ctx, 2, argv, NULL);
    if (more_queued) {
        st->labels[st->pending++] = "UNLINK";
        return;
    }
    redisReply *r = NULL;
    if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK)
        r = NULL;
    if (bc_store_check_reply(st, r, "UNLINK") == 0)
        freeReplyObject(r);
}

/* Reads the replies of commands sent without waiting (a lease's
 * extension, a store) and reports a conditional write's outcome. They
 * have usually arrived long before: the worker did other work in between.
 * MORE_QUEUED: see undo_write. */
static void settle(bc_store *st, int more_queued)
{
    int n = st->pending, at = st->verdict, from = st->verdict_from;
    char *undo = st->undo_key;
    const char *labels[MAX_PENDING];
    memcpy(labels, st->labels, (size_t)n * sizeof *labels);
    st->pending = 0;
    st->verdict = 0;
    st->verdict_from = 0;
    st->undo_key = NULL;
    int written = -1, failed_before = 0;
    for (int i = 1; i <= n && st->ctx; i++) {
        redisReply *r = NULL;
        if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK) {
            fault(st, labels[i - 1], io_error(st, 0));
            free(undo);
            return;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            failed_before |= at != 0 && i >= from && i < at;
            bc_store_refused(st, "%s: %s", labels[i - 1], r->str);
        } else if (i == at) {
            written = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        }
        freeReplyObject(r);
    }
    if (written == 1 && failed_before && undo) {
        undo_write(st, undo, more_queued);
        report(st, BC_STORE_UNDONE);
    } else if (written >= 0) {
        report(st, written ? BC_STORE_WRITTEN : BC_STORE_NOT_WRITTEN);
    }
    free(undo);
}

/* Every command starts here: the replies of the previous one are freed,
 * those of a deferred batch read. */
void bc_store_drop_reply(bc_store *st)
{
    free_last(st);
    if (st->pending)
        settle(st, 0);
}

/* For the commands on a request's path (lookup, lease): called after they
 * are appended and before their replies are read, so that they go out
 * before a deferred store's replies are waited for, and the two round
 * trips overlap. A worker that takes its next request at once would
 * otherwise wait for its last store first: 0.5 ms per 16 KiB fill under
 * load (bench). Returns -1 when the connection failed meanwhile. */
static int settle_first(bc_store *st)
{
    if (st->pending)
        settle(st, 1);
    return st->ctx ? 0 : -1;
}

/* hiredis frees an empty read buffer larger than its maxbuf only when the
 * next data arrives; this does the same at once, but only for buffers over
 * 1 MiB: regrowing the buffer for every large reply (16 KiB reads, each
 * growth a realloc and a copy) halved 256 KiB HITs through nginx (666
 * against 985 req/s with 64 KiB here). Up to that size a worker keeps the
 * buffer of the largest reply it has read. */
#define READER_KEEP (1024 * 1024)

void bc_store_idle(bc_store *st)
{
    free_last(st); /* a deferred store stays unread: that is its point */
    redisReader *r = st->ctx ? st->ctx->reader : NULL;
    if (r && r->len == 0 && sdsalloc(r->buf) > READER_KEEP) {
        sds fresh = sdsempty();
        if (fresh) {
            sdsfree(r->buf);
            r->buf = fresh;
            r->pos = 0;
        }
    }
}

static void disconnect(bc_store *st)
{
    free_last(st);
    st->pending = 0; /* lost with the connection */
    st->verdict = 0;
    st->verdict_from = 0;
    free(st->undo_key);
    st->undo_key = NULL;
    if (st->ctx) {
        redisFree(st->ctx);
        st->ctx = NULL;
    }
}

void bc_store_free(bc_store *st)
{
    if (!st)
        return;
    disconnect(st);
    free(st);
}

void bc_store_reconfigure(bc_store *st, const bc_config *cfg)
{
    const bc_config *old = st->cfg;
    st->cfg = cfg;
    if (strcmp(old->redis.address, cfg->redis.address) != 0 ||
        old->redis.db != cfg->redis.db ||
        strcmp(old->redis.password, cfg->redis.password) != 0 ||
        old->redis.timeout_ms != cfg->redis.timeout_ms) {
        disconnect(st);
        st->retry_at_ms = 0;
    }
}

/* Records a fault: drops the connection, schedules the next attempt and
 * reports it (the gateway logs at most once per interval for the whole
 * process). */
static void fault(bc_store *st, const char *what, const char *detail)
{
    /* DETAIL may live in the context freed below. */
    snprintf(st->errstr, sizeof st->errstr, "%s: %s", what, detail);
    disconnect(st);
    st->retry_at_ms = bc_now_ms() + st->backoff_ms;
    st->backoff_ms = st->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                         : st->backoff_ms * 2;
    st->was_down = 1;
    report(st, BC_STORE_FAULT);
}

int bc_store_fault(bc_store *st, const char *what, const char *detail)
{
    fault(st, what, detail);
    return -1;
}

static redisContext *open_context(const bc_address *a, struct timeval tv)
{
    return a->is_unix ? redisConnectUnixWithTimeout(a->path, tv)
                      : redisConnectWithTimeout(a->host, a->port, tv);
}

/* Runs a setup command (AUTH, SELECT); returns 0 or -1 after fault(). */
static int setup_command(bc_store *st, const char *what, const char *fmt,
                         const char *arg)
{
    redisReply *r = redisCommand(st->ctx, fmt, arg);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", r ? r->str : st->ctx->errstr);
        if (r)
            freeReplyObject(r);
        fault(st, what, detail);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

static int connect_now(bc_store *st)
{
    const bc_config *cfg = st->cfg;
    bc_address a;
    char err[256];
    if (bc_address_parse(cfg->redis.address, &a, err, sizeof err) < 0) {
        fault(st, "address", err);
        return -1;
    }
    int ms = bc_store_timeout_ms(st);
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    st->ctx = open_context(&a, tv);
    if (!st->ctx || st->ctx->err) {
        fault(st, "connect", st->ctx ? st->ctx->errstr : "out of memory");
        return -1;
    }
    /* The same bound for every command: a slow Redis must never hold a
     * request longer than redis.timeout_ms. */
    redisSetTimeout(st->ctx, tv);
    if (cfg->redis.password[0] &&
        setup_command(st, "AUTH", "AUTH %s", cfg->redis.password) < 0)
        return -1;
    if (cfg->redis.db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", cfg->redis.db);
        if (setup_command(st, "SELECT", "SELECT %s", db) < 0)
            return -1;
    }
    if (st->was_down)
        report(st, BC_STORE_RECOVERED);
    st->was_down = 0;
    st->backoff_ms = BACKOFF_MIN_MS;
    return 0;
}

int bc_store_ensure_connected(bc_store *st)
{
    if (st->ctx)
        return 0;
    if (bc_now_ms() < st->retry_at_ms)
        return -1;
    return connect_now(st);
}

void bc_store_retry_now(bc_store *st)
{
    st->retry_at_ms = 0;
}

/* Checks a reply; on a transport error the connection is dropped. */
int bc_store_check_reply(bc_store *st, redisReply *r, const char *what)
{
    if (!r) {
        fault(st, what, io_error(st, 0));
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* A server-side error (LOADING, NOAUTH after a restart with a new
         * password, ...) also means "unavailable for now". */
        char detail[256];
        snprintf(detail, sizeof detail, "%s", r->str);
        freeReplyObject(r);
        fault(st, what, detail);
        return -1;
    }
    return 0;
}

int bc_store_get(bc_store *st, const char *key, const char **data, size_t *len)
{
    free_last(st);
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    redisAppendCommand(st->ctx, "GET %s", key);
    if (settle_first(st) < 0)
        return -1;
    redisReply *r = NULL;
    if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK)
        r = NULL;
    if (bc_store_check_reply(st, r, "GET") < 0)
        return -1;
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return 0;
    }
    st->last = r;
    *data = r->str;
    *len = (size_t)r->len;
    return 1;
}

void bc_store_set_timeout(bc_store *st, int timeout_ms)
{
    st->timeout_ms = timeout_ms;
    disconnect(st);
}

/* Reads N pipelined replies, reporting the first server error as a
 * refusal named WHAT. Returns -1 after fault() on a transport error; on a
 * server error -1 when STRICT or when it is the first reply, else 0. */
int bc_store_drain_replies(bc_store *st, size_t n, const char *what, int strict)
{
    int rc = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK) {
            fault(st, what, io_error(st, 0));
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR && !refused) {
            bc_store_refused(st, "%s: %s", what, r->str);
            refused = 1;
            rc = strict || i == 0 ? -1 : 0;
        }
        freeReplyObject(r);
    }
    return rc;
}

static int scan_reply(bc_store *st, redisReply *r, unsigned long long *cursor,
                      bc_store_key_fn fn, void *ctx)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        fault(st, "SCAN", "unexpected reply");
        return -1;
    }
    *cursor = strtoull(r->element[0]->str, NULL, 10);
    redisReply *keys = r->element[1];
    int rc = 0;
    for (size_t i = 0; i < keys->elements && rc == 0; i++)
        if (keys->element[i]->type == REDIS_REPLY_STRING)
            rc = fn(ctx, keys->element[i]->str, (size_t)keys->element[i]->len);
    freeReplyObject(r);
    return rc;
}

int bc_store_scan(bc_store *st, const char *set, unsigned long long *cursor,
                  const char *pattern, int count, bc_store_key_fn fn, void *ctx)
{
    bc_store_drop_reply(st);
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    char cur[24], cnt[16];
    snprintf(cur, sizeof cur, "%llu", *cursor);
    snprintf(cnt, sizeof cnt, "%d", count);
    const char *argv[8];
    int argc = 0;
    argv[argc++] = set ? "SSCAN" : "SCAN";
    if (set)
        argv[argc++] = set;
    argv[argc++] = cur;
    if (pattern) {
        argv[argc++] = "MATCH";
        argv[argc++] = pattern;
    }
    argv[argc++] = "COUNT";
    argv[argc++] = cnt;
    redisReply *r = redisCommandArgv(st->ctx, argc, argv, NULL);
    if (bc_store_check_reply(st, r, set ? "SSCAN" : "SCAN") < 0)
        return -1;
    return scan_reply(st, r, cursor, fn, ctx);
}

/* Keys per UNLINK command: big enough to amortise the round trip, small
 * enough not to stall Redis (UNLINK frees large values in the background). */
#define UNLINK_BATCH 500

long bc_store_unlink(bc_store *st, char *const *keys, const size_t *lens,
                     size_t n)
{
    bc_store_drop_reply(st);
    if (n == 0)
        return 0;
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    const char *argv[UNLINK_BATCH + 1];
    size_t argl[UNLINK_BATCH + 1];
    size_t batches = 0;
    argv[0] = "UNLINK";
    argl[0] = 6;
    for (size_t i = 0; i < n; i += UNLINK_BATCH, batches++) {
        size_t m = n - i < UNLINK_BATCH ? n - i : UNLINK_BATCH;
        for (size_t j = 0; j < m; j++) {
            argv[j + 1] = keys[i + j];
            argl[j + 1] = lens[i + j];
        }
        redisAppendCommandArgv(st->ctx, (int)m + 1, argv, argl);
    }
    /* A refusal (NOPERM, a read-only replica, ...) is a failure too: the
     * keys are still there, and a caller that counted them as removed
     * would not try again. */
    long removed = 0;
    char refused[256] = "";
    for (size_t b = 0; b < batches; b++) {
        redisReply *r;
        if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK) {
            fault(st, "UNLINK", io_error(st, 0));
            return -1;
        }
        if (r->type == REDIS_REPLY_INTEGER)
            removed += (long)r->integer;
        else if (r->type == REDIS_REPLY_ERROR && !refused[0])
            snprintf(refused, sizeof refused, "%s", r->str);
        freeReplyObject(r);
    }
    if (refused[0]) {
        fault(st, "UNLINK", refused);
        return -1;
    }
    return removed;
}

int bc_store_claim(bc_store *st, const char *key, const char *owner, long ttl)
{
    bc_store_drop_reply(st);
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    /* GET returns the value found: OWNER's own earlier claim, whose reply
     * was lost to a timeout, is still OWNER's. */
    redisReply *r =
        redisCommand(st->ctx, "SET %s %s NX GET EX %ld", key, owner, ttl);
    if (bc_store_check_reply(st, r, "SET NX") < 0)
        return -1;
    int claimed = r->type == REDIS_REPLY_NIL ||
                  (r->type == REDIS_REPLY_STRING && strcmp(r->str, owner) == 0);
    freeReplyObject(r);
    return claimed;
}

int64_t bc_store_time_ms(bc_store *st)
{
    bc_store_drop_reply(st);
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "TIME");
    if (bc_store_check_reply(st, r, "TIME") < 0)
        return -1;
    int64_t ms = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING)
        ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
             strtoll(r->element[1]->str, NULL, 10) / 1000;
    freeReplyObject(r);
    if (ms < 0)
        fault(st, "TIME", "unexpected reply");
    return ms;
}

long bc_store_publish(bc_store *st, const char *channel, const char *msg,
                      size_t len)
{
    bc_store_drop_reply(st);
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "PUBLISH %s %b", channel, msg, len);
    if (bc_store_check_reply(st, r, "PUBLISH") < 0)
        return -1;
    long n = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : 0;
    freeReplyObject(r);
    return n;
}

/* Keepalive finds a peer that vanished without closing, so a silent
 * channel is not mistaken for a live subscription forever. It is a TCP
 * matter: on a unix socket the peer's end is always seen, and hiredis's
 * TCP_KEEPIDLE there fails with EOPNOTSUPP. A failure leaves its error in
 * the context, where the next read would report it as a lost connection;
 * the subscription works without keepalive, so the error is cleared. */
static void enable_keepalive(bc_store *st)
{
    if (st->ctx->connection_type != REDIS_CONN_TCP)
        return;
    if (redisEnableKeepAlive(st->ctx) == REDIS_OK)
        return;
    snprintf(st->errstr, sizeof st->errstr,
             "cannot enable TCP keepalive on the subscription (%s); a peer "
             "that vanishes without closing goes unnoticed",
             st->ctx->errstr);
    st->ctx->err = 0;
    st->ctx->errstr[0] = '\0';
    report(st, BC_STORE_DEGRADED);
}

int bc_store_subscribe(bc_store *st, const char *channel)
{
    bc_store_drop_reply(st);
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "SUBSCRIBE %s", channel);
    if (bc_store_check_reply(st, r, "SUBSCRIBE") < 0)
        return -1;
    freeReplyObject(r);
    enable_keepalive(st);
    return 0;
}

/* Takes a reply apart: 1 and the payload for a message, 0 otherwise. */
static int take_message(bc_store *st, redisReply *r, const char **msg,
                        size_t *len)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[0]->str, "message") == 0 &&
        r->element[2]->type == REDIS_REPLY_STRING) {
        st->last = r;
        *msg = r->element[2]->str;
        *len = (size_t)r->element[2]->len;
        return 1;
    }
    freeReplyObject(r);
    return 0;
}

int bc_store_next_message(bc_store *st, int timeout_ms, const char **msg,
                          size_t *len)
{
    bc_store_drop_reply(st);
    if (!st->ctx)
        return -1;
    int64_t deadline = bc_now_ms() + timeout_ms;
    for (;;) {
        redisReply *r = NULL;
        if (redisGetReplyFromReader(st->ctx, (void **)&r) != REDIS_OK) {
            fault(st, "subscription", st->ctx->errstr);
            return -1;
        }
        if (r) {
            if (take_message(st, r, msg, len))
                return 1;
            continue;
        }
        int64_t left = deadline - bc_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = st->ctx->fd, .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return 0;
        if (n < 0 || redisBufferRead(st->ctx) != REDIS_OK) {
            fault(st, "subscription",
                  n < 0 ? strerror(errno) : st->ctx->errstr);
            return -1;
        }
    }
}

long bc_store_ttl(bc_store *st, const char *key)
{
    bc_store_drop_reply(st);
    if (bc_store_ensure_connected(st) < 0)
        return -3;
    redisReply *r = redisCommand(st->ctx, "TTL %s", key);
    if (bc_store_check_reply(st, r, "TTL") < 0)
        return -3;
    long ttl = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -3;
    freeReplyObject(r);
    return ttl;
}

/* ---- pipelines ---- */

int bc_store_begin(bc_store *st, int settle_now)
{
    if (settle_now)
        bc_store_drop_reply(st);
    else
        free_last(st);
    return bc_store_ensure_connected(st);
}

void bc_store_append(bc_store *st, int argc, const char *const *argv,
                     const size_t *argl)
{
    redisAppendCommandArgv(st->ctx, argc, (const char **)argv, argl);
}

int bc_store_read(bc_store *st, size_t n, redisReply **r, const char *what)
{
    for (size_t i = 0; i < n; i++)
        r[i] = NULL;
    if (settle_first(st) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (redisGetReply(st->ctx, (void **)&r[i]) != REDIS_OK) {
            for (size_t j = 0; j < i; j++) {
                freeReplyObject(r[j]);
                r[j] = NULL;
            }
            fault(st, what, io_error(st, 0));
            return -1;
        }
    return 0;
}

void bc_store_reply_free(redisReply *r)
{
    if (r)
        freeReplyObject(r);
}

void bc_store_keep(bc_store *st, redisReply *r)
{
    free_last(st);
    st->last = r;
}

int bc_store_defer(bc_store *st, const char *const *labels, int n, int verdict,
                   const char *undo_key)
{
    assert(n > 0 && n <= MAX_PENDING);
    /* Room for the labels, and one conditional write at a time: read the
     * earlier replies first (the new commands go out with that wait). */
    if (st->pending + n > MAX_PENDING || (verdict && st->verdict))
        settle(st, 1);
    if (!st->ctx)
        return -1;
    char *copy = NULL;
    if (verdict && undo_key && !(copy = strdup(undo_key))) {
        fault(st, labels[0], "out of memory");
        return -1;
    }
    int done = 0, rc = REDIS_OK;
    while (rc == REDIS_OK && !done)
        rc = redisBufferWrite(st->ctx, &done);
    if (rc != REDIS_OK) {
        free(copy);
        fault(st, labels[0], io_error(st, 1));
        return -1;
    }
    if (verdict) {
        st->verdict_from = st->pending + 1;
        st->verdict = st->pending + verdict;
        st->undo_key = copy;
    }
    for (int i = 0; i < n; i++)
        st->labels[st->pending++] = labels[i];
    return 0;
}

int bc_store_hincr(bc_store *st, const char *key, const char *const *fields,
                   const uint64_t *deltas, size_t n)
{
    bc_store_drop_reply(st);
    if (n == 0)
        return 0;
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        redisAppendCommand(st->ctx, "HINCRBY %s %s %llu", key, fields[i],
                           (unsigned long long)deltas[i]);
    return bc_store_drain_replies(st, n, "HINCRBY", 0);
}

int bc_store_hgetall(bc_store *st, const char *key,
                     void (*fn)(void *ctx, const char *field,
                                const char *value),
                     void *ctx)
{
    bc_store_drop_reply(st);
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "HGETALL %s", key);
    if (bc_store_check_reply(st, r, "HGETALL") < 0)
        return -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
         i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            fn(ctx, r->element[i]->str, r->element[i + 1]->str);
    freeReplyObject(r);
    return 0;
}
