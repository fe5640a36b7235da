/* store.c: the gateway's Redis access: one connection per worker, bounded
 * waits, fail-open with reconnect backoff. */
#include "bocache/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bocache/address.h"

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
    int store_sent;   /* the last of them is a store's outcome */
    int64_t retry_at_ms;
    int backoff_ms;
    int was_down; /* logged a fault since the last good connection */
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

/* Reads the replies of commands sent without waiting (a lease's
 * extension, a store) and counts a store's outcome. They have usually
 * arrived long before: the worker did other work in between. */
static void settle(bc_store *st)
{
    int n = st->pending, store = st->store_sent;
    st->pending = 0;
    st->store_sent = 0;
    redisReply *r = NULL;
    for (int i = 0; i < n && st->ctx; i++) {
        if (r)
            freeReplyObject(r);
        r = NULL;
        if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK) {
            fault(st, store ? "store" : "lease", io_error(st, 0));
            return;
        }
    }
    if (!r)
        return;
    if (!store) {
        freeReplyObject(r);
        return;
    }
    int stored = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r->type == REDIS_REPLY_ERROR)
        bc_log_limited(&st->shared->down_log, BC_LOG_WARN,
                       "redis %s: store: %s", st->cfg->redis.address, r->str);
    else if (!stored)
        bc_log(BC_LOG_DEBUG, "a fill was not stored: its lease was voided "
                             "by an invalidation or expired");
    if (r->type != REDIS_REPLY_ERROR && st->shared->stats)
        bc_stats_add(st->shared->stats,
                     stored ? BC_STAT_STORE : BC_STAT_SKIP_LEASE_LOST,
                     1);
    freeReplyObject(r);
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
    st->store_sent = 0;
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
        snprintf(detail, sizeof detail, "%s",
                 r ? r->str : st->ctx->errstr);
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

int bc_store_down(const bc_store *st)
{
    return st->ctx == NULL && bc_now_ms() < st->retry_at_ms;
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

int bc_store_get(bc_store *st, const char *key, const char **data,
                 size_t *len)
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

int bc_store_set(bc_store *st, const char *key, const char *data, size_t len,
                 long ttl)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisReply *r =
        redisCommand(st->ctx, "SET %s %b EX %ld", key, data, len, ttl);
    if (check_reply(st, r, "SET") < 0)
        return -1;
    freeReplyObject(r);
    return 0;
}

void bc_store_set_timeout(bc_store *st, int timeout_ms)
{
    st->timeout_ms = timeout_ms;
    disconnect(st);
}

/* Reads N pipelined replies. Server errors on index upkeep are counted, not
 * fatal: the entry itself was written. Returns 0 or -1 after fault(). */
static int drain_replies(bc_store *st, size_t n, const char *what)
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
            rc = i == 0 ? -1 : 0;
        }
        freeReplyObject(r);
    }
    return rc;
}

int bc_store_put(bc_store *st, const char *key, const char *data, size_t len,
                 long ttl, char *const *indexes, size_t nindexes)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisAppendCommand(st->ctx, "SET %s %b EX %ld", key, data, len, ttl);
    /* NX gives a new index its lifetime, GT stretches an existing one: the
     * index outlives every entry it lists, and then expires by itself. */
    for (size_t i = 0; i < nindexes; i++) {
        redisAppendCommand(st->ctx, "SADD %s %s", indexes[i], key);
        redisAppendCommand(st->ctx, "EXPIRE %s %ld NX", indexes[i], ttl);
        redisAppendCommand(st->ctx, "EXPIRE %s %ld GT", indexes[i], ttl);
    }
    return drain_replies(st, 1 + 3 * nindexes, "SET");
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
                  const char *pattern, int count, bc_store_key_fn fn,
                  void *ctx)
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
    long removed = 0;
    for (size_t b = 0; b < batches; b++) {
        redisReply *r;
        if (redisGetReply(st->ctx, (void **)&r) != REDIS_OK) {
            fault(st, "UNLINK", st->ctx->errstr);
            return -1;
        }
        if (r->type == REDIS_REPLY_INTEGER)
            removed += (long)r->integer;
        freeReplyObject(r);
    }
    return removed;
}

int bc_store_claim(bc_store *st, const char *key, long ttl)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "SET %s 1 NX EX %ld", key, ttl);
    if (check_reply(st, r, "SET NX") < 0)
        return -1;
    int claimed = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return claimed;
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
            fault(st, "subscription", n < 0 ? strerror(errno)
                                            : st->ctx->errstr);
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

/* KEYS: entry, lease, lease set, staged value, index...; ARGV: token,
 * ttl. The staged value already has the entry's TTL, which RENAME keeps. */
static const char put_leased_lua[] =
    "if redis.call('GET', KEYS[2]) ~= ARGV[1] or\n"
    "   redis.call('EXISTS', KEYS[4]) == 0 then\n"
    "  redis.call('SREM', KEYS[3], KEYS[2])\n"
    "  redis.call('DEL', KEYS[4]) return 0 end\n"
    "redis.call('RENAME', KEYS[4], KEYS[1])\n"
    "redis.call('DEL', KEYS[2])\n"
    "redis.call('SREM', KEYS[3], KEYS[2])\n"
    "for i = 5, #KEYS do\n"
    "  redis.call('SADD', KEYS[i], KEYS[1])\n"
    "  redis.call('EXPIRE', KEYS[i], ARGV[2], 'NX')\n"
    "  redis.call('EXPIRE', KEYS[i], ARGV[2], 'GT')\n"
    "end\n"
    "return 1\n";

/* KEYS: lease, lease set; ARGV: token, pass time in ms. The lease turns
 * into a "pass" marker: waiters and newcomers go to the backend on their
 * own instead of queueing for fills that would not be stored either. */
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  if ARGV[2] == '0' then redis.call('DEL', KEYS[1])\n"
    "  else redis.call('SET', KEYS[1], 'pass', 'PX', ARGV[2]) end\n"
    "end\n"
    "redis.call('SREM', KEYS[2], KEYS[1])\n"
    "return 1\n";

/* How long a lease is first taken for: twice the time a round trip may
 * take, and at least 200 ms, so that the extension sent right after the
 * reply arrives in time even on a busy Redis. */
static long lease_probe_ms(const bc_store *st)
{
    long t = st->timeout_ms ? st->timeout_ms : st->cfg->redis.timeout_ms;
    return 2 * t > 200 ? 2 * t : 200;
}

/* Extends a lease just taken to TTL_MS. Sent without waiting: the reply
 * is read with the next command. A lease whose extension is lost (the
 * connection broke) expires early; another request may then fill the key
 * too, and this fill's store is skipped as having lost its lease. */
static int extend_lease(bc_store *st, const char *lease, long ttl_ms)
{
    int done = 0, rc = redisAppendCommand(st->ctx, "PEXPIRE %s %ld", lease,
                                          ttl_ms);
    while (rc == REDIS_OK && !done)
        rc = redisBufferWrite(st->ctx, &done);
    if (rc != REDIS_OK) {
        fault(st, "lease", io_error(st, 1));
        return -1;
    }
    st->pending = 1;
    return 0;
}

int bc_store_lease_take(bc_store *st, const char *lease, const char *token,
                        long ttl_ms, const char *leases, const char *key,
                        bc_lease_result *out)
{
    memset(out, 0, sizeof *out);
    free_last(st);
    if (ensure_connected(st) < 0)
        return -1;
    /* GET returns what held the lease, so a pass marker is seen at once,
     * without a wait-and-poll round. The lease is taken for a short time
     * and extended once its reply is in: if this round trip times out,
     * Redis may still run the SET later (a stalled server runs what was
     * queued when it wakes), and that lease, which nobody will fill or
     * release, then blocks the key for lease_probe_ms, not for TTL_MS. */
    long probe_ms = lease_probe_ms(st);
    redisAppendCommand(st->ctx, "SET %s %s NX PX %ld GET", lease, token,
                       probe_ms < ttl_ms ? probe_ms : ttl_ms);
    redisAppendCommand(st->ctx, "SADD %s %s", leases, lease);
    /* The set of leases only lists fills in flight; it outlives them. */
    redisAppendCommand(st->ctx, "PEXPIRE %s %ld", leases, ttl_ms * 2);
    redisAppendCommand(st->ctx, "PTTL %s", lease);
    redisAppendCommand(st->ctx, "GET %s", key);
    if (settle_first(st) < 0)
        return -1;
    redisReply *r[5] = {NULL, NULL, NULL, NULL, NULL};
    int rc = 0;
    for (int i = 0; i < 5; i++)
        if (redisGetReply(st->ctx, (void **)&r[i]) != REDIS_OK) {
            fault(st, "lease", io_error(st, 0));
            rc = -1;
            break;
        }
    if (rc == 0)
        rc = r[0]->type == REDIS_REPLY_NIL ? 1 : 0;
    if (rc == 0) {
        out->state = r[0]->type == REDIS_REPLY_STRING &&
                             strcmp(r[0]->str, "pass") == 0
                         ? BC_LEASE_PASS
                         : BC_LEASE_HELD;
        out->left_ms =
            r[3]->type == REDIS_REPLY_INTEGER ? (long)r[3]->integer : 0;
    }
    if (rc == 0 && r[0]->type == REDIS_REPLY_ERROR) {
        bc_log_limited(&st->shared->down_log, BC_LOG_WARN,
                       "redis %s: SET NX GET: %s (bocache needs Redis 7.0 "
                       "or later)",
                       st->cfg->redis.address, r[0]->str);
        rc = -1;
    }
    if (rc == 1 && extend_lease(st, lease, ttl_ms) < 0)
        rc = -1;
    if (rc >= 0 && r[4]->type == REDIS_REPLY_STRING) {
        st->last = r[4]; /* kept: OUT points into it */
        out->data = r[4]->str;
        out->len = (size_t)r[4]->len;
        r[4] = NULL;
    }
    for (int i = 0; i < 5; i++)
        if (r[i])
            freeReplyObject(r[i]);
    return rc;
}

int bc_store_put_leased(bc_store *st, const char *key, const char *data,
                        size_t len, long ttl, char *const *indexes,
                        size_t nindexes, const char *lease, const char *token,
                        const char *leases, const char *staging)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    size_t nkeys = 4 + nindexes, argc = 3 + nkeys + 2;
    const char **argv = calloc(argc, sizeof *argv);
    size_t *argl = calloc(argc, sizeof *argl);
    if (!argv || !argl) {
        free(argv);
        free(argl);
        return -1;
    }
    char ttls[24];
    snprintf(ttls, sizeof ttls, "%ld", ttl);
    const char *set_argv[] = {"SET", staging, data, "EX", ttls};
    size_t set_argl[] = {3, strlen(staging), len, 2, strlen(ttls)};
    if (redisAppendCommandArgv(st->ctx, 5, set_argv, set_argl) != REDIS_OK) {
        free(argv);
        free(argl);
        fault(st, "store", "out of memory");
        return -1;
    }
    char nk[16];
    snprintf(nk, sizeof nk, "%zu", nkeys);
    size_t i = 0;
    argv[i++] = "EVAL";
    argv[i++] = put_leased_lua;
    argv[i++] = nk;
    argv[i++] = key;
    argv[i++] = lease;
    argv[i++] = leases;
    argv[i++] = staging;
    for (size_t j = 0; j < nindexes; j++)
        argv[i++] = indexes[j];
    argv[i++] = token;
    argv[i++] = ttls;
    for (size_t j = 0; j < argc; j++)
        argl[j] = strlen(argv[j]);
    int rc = redisAppendCommandArgv(st->ctx, (int)argc, argv, argl);
    free(argv);
    free(argl);
    int done = 0;
    while (rc == REDIS_OK && !done)
        rc = redisBufferWrite(st->ctx, &done);
    if (rc != REDIS_OK) {
        fault(st, "store", io_error(st, 1));
        return -1;
    }
    st->pending = 2; /* SET and EVAL: read by the next command */
    st->store_sent = 1;
    return 1;
}

int bc_store_lease_release(bc_store *st, const char *lease, const char *token,
                           const char *leases, long pass_ms)
{
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "EVAL %s 2 %s %s %s %ld",
                                 release_lua, lease, leases, token, pass_ms);
    if (check_reply(st, r, "EVAL release") < 0)
        return -1;
    freeReplyObject(r);
    return 0;
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
    *lease_state = ex->type != REDIS_REPLY_STRING  ? BC_LEASE_FREE
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
    return drain_replies(st, n, "HINCRBY");
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
