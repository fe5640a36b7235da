/* store.c: the gateway's Redis access: one connection per worker, bounded
 * waits, fail-open with reconnect backoff. */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "key.h"

/* Reconnect backoff: the first retry is quick so a Redis restart costs only a
 * few bypassed requests; it doubles up to a ceiling so a dead Redis costs one
 * refused connect per worker every few seconds, not one per request. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct bc_store {
    const bc_config *cfg;
    bc_store_shared *shared;
    redisContext *ctx;
    redisReply *last; /* reply whose bytes bc_store_get handed out */
    int pending;      /* replies sent without waiting, not read yet */
    int store_at;     /* 1-based: which of them is a store's outcome */
    char *store_key;  /* that store's entry key, while it is unread */
    int64_t retry_at_ms;
    int backoff_ms;
    int was_down;   /* logged a fault since the last good connection */
    int timeout_ms; /* 0: redis.timeout_ms */
};

bc_store *bc_store_new(const bc_config *cfg, bc_store_shared *shared)
{
    bc_store *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->cfg = cfg;
    st->shared = shared;
    st->backoff_ms = BACKOFF_MIN_MS;
    return st;
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

static void unlink_unindexed(bc_store *st, const char *key);

/* Logs a store's outcome, the reply of its compare-and-set. Returns 1
 * when the entry was stored, 0 when not, -1 when Redis refused. */
static int count_store(bc_store *st, const redisReply *r)
{
    int stored = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r->type == REDIS_REPLY_ERROR) {
        bc_log_limited(&st->shared->down_log, BC_LOG_WARN,
                       "redis %s: store: %s", st->cfg->redis.address, r->str);
        return -1;
    }
    if (!stored)
        bc_log(BC_LOG_DEBUG, "a fill was not stored: its lease was voided "
                             "by an invalidation or expired");
    return stored;
}

/* Reads the replies of commands sent without waiting (a lease's
 * extension, a store) and counts a store's outcome. They have usually
 * arrived long before: the worker did other work in between. A store
 * whose index entries failed (the replies before its compare-and-set)
 * but whose entry landed is undone: an entry that no index lists would
 * escape the tag and path invalidations that cover it. */
static void settle(bc_store *st)
{
    int n = st->pending, at = st->store_at;
    char *key = st->store_key;
    st->pending = 0;
    st->store_at = 0;
    st->store_key = NULL;
    int stored = -1, index_failed = 0;
    for (int i = 1; i <= n && st->ctx; i++) {
        redisReply *r = NULL;
        if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK) {
            fault(st, at ? "store" : "lease", io_error(st, 0));
            free(key);
            return;
        }
        if (i == at) {
            stored = count_store(st, r);
        } else if (r->type == REDIS_REPLY_ERROR) {
            index_failed |= at != 0 && i < at;
            bc_log_limited(&st->shared->down_log, BC_LOG_WARN,
                           "redis %s: %s: %s", st->cfg->redis.address,
                           at ? "index" : "lease", r->str);
        }
        freeReplyObject(r);
    }
    if (stored == 1 && index_failed && key) {
        unlink_unindexed(st, key);
        stored = 0;
    }
    if (stored >= 0 && st->shared->stats)
        bc_stats_add(st->shared->stats,
                     stored ? BC_STAT_STORE : BC_STAT_SKIP_LEASE_LOST, 1);
    free(key);
}

/* Every command starts here: the replies of the previous one are freed,
 * those of a deferred store read. */
static void drop_reply(bc_store *st)
{
    free_last(st);
    if (st->pending)
        settle(st);
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
        settle(st);
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
    st->store_at = 0;
    free(st->store_key);
    st->store_key = NULL;
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

/* Records a fault: drops the connection, schedules the next attempt and logs
 * at most once per interval for the whole process. */
static void fault(bc_store *st, const char *what, const char *detail)
{
    char copy[256]; /* DETAIL may live in the context freed below */
    snprintf(copy, sizeof copy, "%s", detail);
    disconnect(st);
    st->retry_at_ms = bc_now_ms() + st->backoff_ms;
    st->backoff_ms = st->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                         : st->backoff_ms * 2;
    st->was_down = 1;
    if (st->shared->stats)
        bc_stats_add(st->shared->stats, BC_STAT_REDIS_ERRORS, 1);
    bc_log_limited(&st->shared->down_log, BC_LOG_WARN,
                   "redis %s: %s: %s; serving uncached (BYPASS) and retrying",
                   st->cfg->redis.address, what, copy);
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
    int ms = st->timeout_ms ? st->timeout_ms : cfg->redis.timeout_ms;
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
        bc_log_limited(&st->shared->up_log, BC_LOG_INFO,
                       "redis %s: connected again; caching resumes",
                       cfg->redis.address);
    st->was_down = 0;
    st->backoff_ms = BACKOFF_MIN_MS;
    return 0;
}

static int ensure_connected(bc_store *st)
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
static int check_reply(bc_store *st, redisReply *r, const char *what)
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
    if (ensure_connected(st) < 0)
        return -1;
    redisAppendCommand(st->ctx, "GET %s", key);
    if (settle_first(st) < 0)
        return -1;
    redisReply *r = NULL;
    if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK)
        r = NULL;
    if (check_reply(st, r, "GET") < 0)
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

/* Reads N pipelined replies, logging the first server error. Returns -1
 * after fault() on a transport error; on a server error -1 when STRICT or
 * when it is the first reply, else 0. */
static int drain_replies(bc_store *st, size_t n, const char *what, int strict)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK) {
            fault(st, what, st->ctx->errstr);
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR && rc == 0) {
            bc_log_limited(&st->shared->down_log, BC_LOG_WARN,
                           "redis %s: %s: %s", st->cfg->redis.address, what,
                           r->str);
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
    drop_reply(st);
    if (ensure_connected(st) < 0)
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
    if (check_reply(st, r, set ? "SSCAN" : "SCAN") < 0)
        return -1;
    return scan_reply(st, r, cursor, fn, ctx);
}

/* Keys per UNLINK command: big enough to amortise the round trip, small
 * enough not to stall Redis (UNLINK frees large values in the background). */
#define UNLINK_BATCH 500

long bc_store_unlink(bc_store *st, char *const *keys, const size_t *lens,
                     size_t n)
{
    drop_reply(st);
    if (n == 0)
        return 0;
    if (ensure_connected(st) < 0)
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
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    /* GET returns the value found: OWNER's own earlier claim, whose reply
     * was lost to a timeout, is still OWNER's. */
    redisReply *r =
        redisCommand(st->ctx, "SET %s %s NX GET EX %ld", key, owner, ttl);
    if (check_reply(st, r, "SET NX") < 0)
        return -1;
    int claimed = r->type == REDIS_REPLY_NIL ||
                  (r->type == REDIS_REPLY_STRING && strcmp(r->str, owner) == 0);
    freeReplyObject(r);
    return claimed;
}

int64_t bc_store_time_ms(bc_store *st)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "TIME");
    if (check_reply(st, r, "TIME") < 0)
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

int bc_store_zscan(bc_store *st, const char *key, unsigned long long *cursor,
                   int count, bc_store_member_fn fn, void *ctx)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisReply *r =
        redisCommand(st->ctx, "ZSCAN %s %llu COUNT %d", key, *cursor, count);
    if (check_reply(st, r, "ZSCAN") < 0)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY ||
        r->element[1]->elements % 2 != 0) {
        freeReplyObject(r);
        fault(st, "ZSCAN", "unexpected reply");
        return -1;
    }
    *cursor = strtoull(r->element[0]->str, NULL, 10);
    redisReply *m = r->element[1];
    int rc = 0;
    for (size_t i = 0; i + 1 < m->elements && rc == 0; i += 2)
        if (m->element[i]->type == REDIS_REPLY_STRING &&
            m->element[i + 1]->type == REDIS_REPLY_STRING)
            rc = fn(ctx, m->element[i]->str, (size_t)m->element[i]->len,
                    (int64_t)strtod(m->element[i + 1]->str, NULL));
    freeReplyObject(r);
    return rc;
}

/* KEYS: one index; ARGV: member, score pairs. Removes each member that
 * still has the score its remover read: a member written again since
 * (index_add_lua raises its score) is someone else's and stays. Allowed
 * when Redis is out of memory: it only frees. */
static const char index_forget_lua[] =
    "#!lua flags=allow-oom\n"
    "local n = 0\n"
    "for i = 1, #ARGV, 2 do\n"
    "  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])\n"
    "  if s and tonumber(s) == tonumber(ARGV[i + 1]) then\n"
    "    n = n + redis.call('ZREM', KEYS[1], ARGV[i]) end\n"
    "end\n"
    "return n\n";

/* Members per index_forget_lua call. */
#define FORGET_BATCH 250

int bc_store_index_forget(bc_store *st, const char *index, char *const *members,
                          const size_t *lens, const int64_t *scores, size_t n)
{
    drop_reply(st);
    if (n == 0)
        return 0;
    if (ensure_connected(st) < 0)
        return -1;
    const char *argv[4 + 2 * FORGET_BATCH];
    size_t argl[4 + 2 * FORGET_BATCH];
    char nums[FORGET_BATCH][24];
    size_t batches = 0;
    argv[0] = "EVAL";
    argv[1] = index_forget_lua;
    argv[2] = "1";
    argv[3] = index;
    for (size_t i = 0; i < n; i += FORGET_BATCH, batches++) {
        size_t m = n - i < FORGET_BATCH ? n - i : FORGET_BATCH;
        for (size_t j = 0; j < m; j++) {
            snprintf(nums[j], sizeof nums[j], "%lld", (long long)scores[i + j]);
            argv[4 + 2 * j] = members[i + j];
            argl[4 + 2 * j] = lens[i + j];
            argv[5 + 2 * j] = nums[j];
            argl[5 + 2 * j] = strlen(nums[j]);
        }
        for (size_t j = 0; j < 4; j++)
            argl[j] = strlen(argv[j]);
        /* hiredis copies the arguments into its buffer here. */
        redisAppendCommandArgv(st->ctx, 4 + 2 * (int)m, argv, argl);
    }
    return drain_replies(st, batches, "index", 1);
}

long bc_store_publish(bc_store *st, const char *channel, const char *msg,
                      size_t len)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "PUBLISH %s %b", channel, msg, len);
    if (check_reply(st, r, "PUBLISH") < 0)
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
    bc_log(BC_LOG_WARN,
           "redis %s: cannot enable TCP keepalive on the subscription (%s); "
           "a peer that vanishes without closing goes unnoticed",
           st->cfg->redis.address, st->ctx->errstr);
    st->ctx->err = 0;
    st->ctx->errstr[0] = '\0';
}

int bc_store_subscribe(bc_store *st, const char *channel)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "SUBSCRIBE %s", channel);
    if (check_reply(st, r, "SUBSCRIBE") < 0)
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
    drop_reply(st);
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
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -3;
    redisReply *r = redisCommand(st->ctx, "TTL %s", key);
    if (check_reply(st, r, "TTL") < 0)
        return -3;
    long ttl = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -3;
    freeReplyObject(r);
    return ttl;
}

/* KEYS: one index (a sorted set); ARGV: life in ms, "raise" or "set",
 * then members. The scores are expiry times in ms by the Redis server's
 * clock (TIME), so gateways whose clocks disagree still agree on what has
 * expired. Members past their time are trimmed first, so the index holds
 * about the live entries. "raise" (an entry listed again) raises a
 * member's score, by 1 ms when the new time is not later, so a remover
 * that read the older score leaves the member alone (index_forget_lua);
 * "set" (a registration only its writer updates) sets the time as it is.
 * The set itself lives exactly as long as its last member. Refused when
 * Redis is out of memory. */
static const char index_add_lua[] =
    "#!lua\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "local exp = now + tonumber(ARGV[1])\n"
    "for i = 3, #ARGV do\n"
    "  local s = exp\n"
    "  local old = redis.call('ZSCORE', KEYS[1], ARGV[i])\n"
    "  if ARGV[2] == 'raise' and old and tonumber(old) >= s then\n"
    "    s = tonumber(old) + 1 end\n"
    "  redis.call('ZADD', KEYS[1], string.format('%.0f', s), ARGV[i])\n"
    "end\n"
    "local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')\n"
    "if top[2] then redis.call('PEXPIREAT', KEYS[1], top[2]) end\n"
    "return 1\n";

/* KEYS: entry, lease, staged value; ARGV: token. The fill's
 * compare-and-set: the staged value (with the entry's TTL, which RENAME
 * keeps) becomes the entry only while the lease holds the token. It names
 * the entry's keys only; the index entries were written before it, the
 * lease set is updated after it. Refused when Redis is out of memory, as
 * the index writes before it would have been. */
static const char put_leased_lua[] =
    "#!lua\n"
    "if redis.call('GET', KEYS[2]) ~= ARGV[1] or\n"
    "   redis.call('EXISTS', KEYS[3]) == 0 then\n"
    "  redis.call('DEL', KEYS[3]) return 0 end\n"
    "redis.call('RENAME', KEYS[3], KEYS[1])\n"
    "redis.call('DEL', KEYS[2])\n"
    "return 1\n";

/* KEYS: lease; ARGV: token, pass time in ms. The lease turns into a
 * "pass" marker: waiters and newcomers go to the backend on their own
 * instead of queueing for fills that would not be stored either. */
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  if ARGV[2] == '0' then redis.call('DEL', KEYS[1])\n"
    "  else redis.call('SET', KEYS[1], 'pass', 'PX', ARGV[2]) end\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* Index entries outlive their entry by this much, for a Redis clock that
 * steps back a little between an entry's SET and its index write. */
#define INDEX_SLACK_MS 1000

/* The lease set's member for LEASE held with TOKEN: "LEASE TOKEN" (a
 * lease key holds no space, every segment of its entry key has them
 * encoded). One member per attempt, so a request removes its own and
 * never the one a later holder of the same lease registered. Returns a
 * string the caller frees, or NULL. */
static char *lease_member(const char *lease, const char *token)
{
    size_t a = strlen(lease), b = strlen(token);
    char *m = malloc(a + b + 2);
    if (!m)
        return NULL;
    memcpy(m, lease, a);
    m[a] = ' ';
    memcpy(m + a + 1, token, b + 1);
    return m;
}

/* Appends index_add_lua for INDEX with members MEMBERS[0..N); RAISE
 * chooses its "raise" mode, else "set". */
static void append_index_add(bc_store *st, const char *index, long life_ms,
                             int raise, const char *const *members, size_t n)
{
    enum { MAX_MEMBERS = 4 };
    const char *argv[6 + MAX_MEMBERS];
    char life[24];
    assert(n <= MAX_MEMBERS);
    snprintf(life, sizeof life, "%ld", life_ms);
    argv[0] = "EVAL";
    argv[1] = index_add_lua;
    argv[2] = "1";
    argv[3] = index;
    argv[4] = life;
    argv[5] = raise ? "raise" : "set";
    for (size_t i = 0; i < n; i++)
        argv[6 + i] = members[i];
    redisAppendCommandArgv(st->ctx, 6 + (int)n, argv, NULL);
}

/* Writes out what was appended without waiting for the N replies, which
 * the next command reads (settle); STORE_AT (1-based, 0: none) marks the
 * store outcome among them. */
static int send_deferred(bc_store *st, int n, int store_at, const char *what)
{
    int done = 0, rc = REDIS_OK;
    while (rc == REDIS_OK && !done)
        rc = redisBufferWrite(st->ctx, &done);
    if (rc != REDIS_OK) {
        fault(st, what, io_error(st, 1));
        return -1;
    }
    if (store_at)
        st->store_at = st->pending + store_at;
    st->pending += n;
    return 0;
}

/* How long a lease is first taken for: twice the time a round trip may
 * take, and at least 200 ms, so that the extension sent right after the
 * reply arrives in time even on a busy Redis. */
static long lease_probe_ms(const bc_store *st)
{
    long t = st->timeout_ms ? st->timeout_ms : st->cfg->redis.timeout_ms;
    return 2 * t > 200 ? 2 * t : 200;
}

/* Sends what follows a lease attempt, without waiting: a lease taken is
 * extended to TTL_MS (a lease whose extension is lost, when the
 * connection broke, expires early; another request may then fill the key
 * too, and this fill's store is skipped as having lost its lease); an
 * attempt that did not take it removes its registration. */
static int after_attempt(bc_store *st, int taken, const char *lease,
                         long ttl_ms, const char *leases, const char *member)
{
    if (taken)
        redisAppendCommand(st->ctx, "PEXPIRE %s %ld", lease, ttl_ms);
    else
        redisAppendCommand(st->ctx, "ZREM %s %s", leases, member);
    return send_deferred(st, 1, 0, "lease");
}

/* Drops a lease just taken whose registration failed: without it no
 * invalidation would find the lease, and its fill could store what an
 * invalidation meant to remove. Sent without waiting. */
static void undo_lease(bc_store *st, const char *lease, const char *token)
{
    redisAppendCommand(st->ctx, "EVAL %s 1 %s %s 0", release_lua, lease, token);
    send_deferred(st, 1, 0, "lease");
}

int bc_store_lease_take(bc_store *st, const char *lease, const char *token,
                        long ttl_ms, const char *leases, const char *key,
                        bc_lease_result *out)
{
    memset(out, 0, sizeof *out);
    free_last(st);
    /* A name that could not be built is never a lease: fail open. */
    if (!lease[0] || !leases[0])
        return -1;
    if (ensure_connected(st) < 0)
        return -1;
    char *member = lease_member(lease, token);
    if (!member)
        return -1;
    /* GET returns what held the lease, so a pass marker is seen at once,
     * without a wait-and-poll round. The lease is taken for a short time
     * and extended once its reply is in: if this round trip times out,
     * Redis may still run the SET later (a stalled server runs what was
     * queued when it wakes), and that lease, which nobody will fill or
     * release, then blocks the key for lease_probe_ms, not for TTL_MS.
     * The registration in LEASES, before the backend is called, is what
     * lets an invalidation void the fill; it is scored for twice TTL_MS,
     * which covers the delay between it and the lease's extension by far
     * (a member left behind by a process that died is trimmed then). */
    long probe_ms = lease_probe_ms(st);
    redisAppendCommand(st->ctx, "SET %s %s NX PX %ld GET", lease, token,
                       probe_ms < ttl_ms ? probe_ms : ttl_ms);
    const char *members[1] = {member};
    append_index_add(st, leases, 2 * ttl_ms, 0, members, 1);
    redisAppendCommand(st->ctx, "PTTL %s", lease);
    redisAppendCommand(st->ctx, "GET %s", key);
    if (settle_first(st) < 0) {
        free(member);
        return -1;
    }
    redisReply *r[4] = {NULL, NULL, NULL, NULL};
    int rc = 0;
    for (int i = 0; i < 4; i++)
        if (redisGetReply(st->ctx, (void **)&r[i]) != REDIS_OK) {
            fault(st, "lease", io_error(st, 0));
            rc = -1;
            break;
        }
    if (rc == 0)
        rc = r[0]->type == REDIS_REPLY_NIL ? 1 : 0;
    if (rc == 0) {
        out->state =
            r[0]->type == REDIS_REPLY_STRING && strcmp(r[0]->str, "pass") == 0
                ? BC_LEASE_PASS
                : BC_LEASE_HELD;
        out->left_ms =
            r[2]->type == REDIS_REPLY_INTEGER ? (long)r[2]->integer : 0;
    }
    if (rc == 0 && r[0]->type == REDIS_REPLY_ERROR) {
        bc_log_limited(&st->shared->down_log, BC_LOG_WARN,
                       "redis %s: SET NX GET: %s (bocache needs Redis 7.0 "
                       "or later)",
                       st->cfg->redis.address, r[0]->str);
        rc = -1;
    }
    if (rc >= 0 && r[1]->type == REDIS_REPLY_ERROR) {
        bc_log_limited(&st->shared->down_log, BC_LOG_WARN,
                       "redis %s: lease registration: %s; serving "
                       "uncached",
                       st->cfg->redis.address, r[1]->str);
        if (rc == 1)
            undo_lease(st, lease, token);
        rc = -1;
    }
    if (rc >= 0 &&
        after_attempt(st, rc == 1, lease, ttl_ms, leases, member) < 0)
        rc = -1;
    if (rc >= 0 && r[3]->type == REDIS_REPLY_STRING) {
        st->last = r[3]; /* kept: OUT points into it */
        out->data = r[3]->str;
        out->len = (size_t)r[3]->len;
        r[3] = NULL;
    }
    for (int i = 0; i < 4; i++)
        if (r[i])
            freeReplyObject(r[i]);
    free(member);
    return rc;
}

int bc_store_put_leased(bc_store *st, const char *key, const char *data,
                        size_t len, long ttl, char *const *indexes,
                        size_t nindexes, const char *lease, const char *token,
                        const char *leases, const char *staging)
{
    drop_reply(st);
    if (!lease[0] || !leases[0])
        return -1;
    if (ensure_connected(st) < 0)
        return -1;
    char *member = lease_member(lease, token);
    char *copy = strdup(key);
    if (!member || !copy) {
        free(member);
        free(copy);
        return -1;
    }
    /* In this order, each command naming keys of one slot only (SPEC 10):
     * the value staged, the entry listed in each index (before the
     * compare-and-set, so an invalidation that reads an index after the
     * entry landed finds it), the compare-and-set, the lease's
     * registration dropped. The staged value comes first so that the
     * index entries, scored from their own later time, outlive it. */
    char ttls[24];
    snprintf(ttls, sizeof ttls, "%ld", ttl);
    const char *set_argv[] = {"SET", staging, data, "EX", ttls};
    size_t set_argl[] = {3, strlen(staging), len, 2, strlen(ttls)};
    redisAppendCommandArgv(st->ctx, 5, set_argv, set_argl);
    const char *members[1] = {key};
    for (size_t i = 0; i < nindexes; i++)
        append_index_add(st, indexes[i], ttl * 1000 + INDEX_SLACK_MS, 1,
                         members, 1);
    redisAppendCommand(st->ctx, "EVAL %s 3 %s %s %s %s", put_leased_lua, key,
                       lease, staging, token);
    const char *zrem_argv[] = {"ZREM", leases, member};
    redisAppendCommandArgv(st->ctx, 3, zrem_argv, NULL);
    free(member);
    int n = 3 + (int)nindexes;
    if (send_deferred(st, n, 2 + (int)nindexes, "store") < 0) {
        free(copy);
        return -1;
    }
    st->store_key = copy;
    return 1;
}

/* Removes an entry that landed without its index entries (see settle). */
static void unlink_unindexed(bc_store *st, const char *key)
{
    bc_log_limited(&st->shared->down_log, BC_LOG_WARN,
                   "redis %s: a fill's index entries failed; its entry is "
                   "removed again",
                   st->cfg->redis.address);
    redisReply *r = redisCommand(st->ctx, "UNLINK %s", key);
    if (check_reply(st, r, "UNLINK") == 0)
        freeReplyObject(r);
}

int bc_store_lease_release(bc_store *st, const char *lease, const char *token,
                           const char *leases, long pass_ms)
{
    drop_reply(st);
    if (!lease[0] || !leases[0])
        return -1;
    if (ensure_connected(st) < 0)
        return -1;
    char *member = lease_member(lease, token);
    if (!member)
        return -1;
    redisAppendCommand(st->ctx, "EVAL %s 1 %s %s %ld", release_lua, lease,
                       token, pass_ms);
    /* A pass marker stays registered until it expires, so that every
     * invalidation covering its key finds and removes it (the member is
     * this attempt's own, so its time is set to the marker's); a lease
     * simply dropped takes its registration along. */
    const char *members[1] = {member};
    if (pass_ms > 0)
        append_index_add(st, leases, pass_ms + INDEX_SLACK_MS, 0, members, 1);
    else
        redisAppendCommand(st->ctx, "ZREM %s %s", leases, member);
    free(member);
    return drain_replies(st, 2, "lease release", 1);
}

int bc_store_get_check(bc_store *st, const char *key, const char *lease,
                       const char **data, size_t *len, int *lease_state,
                       long *left_ms)
{
    free_last(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisAppendCommand(st->ctx, "GET %s", key);
    redisAppendCommand(st->ctx, "GET %s", lease);
    if (left_ms)
        redisAppendCommand(st->ctx, "PTTL %s", lease);
    if (settle_first(st) < 0)
        return -1;
    redisReply *get = NULL, *ex = NULL, *ttl = NULL;
    if (redisGetReply(st->ctx, (void **)&get) != REDIS_OK ||
        redisGetReply(st->ctx, (void **)&ex) != REDIS_OK ||
        (left_ms && redisGetReply(st->ctx, (void **)&ttl) != REDIS_OK)) {
        if (get)
            freeReplyObject(get);
        if (ex)
            freeReplyObject(ex);
        fault(st, "GET", io_error(st, 0));
        return -1;
    }
    if (ttl) {
        *left_ms = ttl->type == REDIS_REPLY_INTEGER ? (long)ttl->integer : 0;
        freeReplyObject(ttl);
    }
    *lease_state = ex->type != REDIS_REPLY_STRING ? BC_LEASE_FREE
                   : strcmp(ex->str, "pass") == 0 ? BC_LEASE_PASS
                                                  : BC_LEASE_HELD;
    freeReplyObject(ex);
    if (get->type != REDIS_REPLY_STRING) {
        freeReplyObject(get);
        return 0;
    }
    st->last = get;
    *data = get->str;
    *len = (size_t)get->len;
    return 1;
}

int bc_store_hincr(bc_store *st, const char *key, const char *const *fields,
                   const uint64_t *deltas, size_t n)
{
    drop_reply(st);
    if (n == 0)
        return 0;
    if (ensure_connected(st) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        redisAppendCommand(st->ctx, "HINCRBY %s %s %llu", key, fields[i],
                           (unsigned long long)deltas[i]);
    return drain_replies(st, n, "HINCRBY", 0);
}

int bc_store_hgetall(bc_store *st, const char *key,
                     void (*fn)(void *ctx, const char *field,
                                const char *value),
                     void *ctx)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "HGETALL %s", key);
    if (check_reply(st, r, "HGETALL") < 0)
        return -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
         i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING &&
            r->element[i + 1]->type == REDIS_REPLY_STRING)
            fn(ctx, r->element[i]->str, r->element[i + 1]->str);
    freeReplyObject(r);
    return 0;
}
