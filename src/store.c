/* store.c: the gateway's Redis access: one connection per worker, bounded
 * waits, fail-open with reconnect backoff. */
#include "bocache/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
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
    int64_t retry_at_ms;
    int backoff_ms;
    int was_down; /* logged a fault since the last good connection */
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

static void drop_reply(bc_store *st)
{
    if (st->last) {
        freeReplyObject(st->last);
        st->last = NULL;
    }
}

static void disconnect(bc_store *st)
{
    drop_reply(st);
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
    struct timeval tv = {.tv_sec = cfg->redis.timeout_ms / 1000,
                         .tv_usec = (cfg->redis.timeout_ms % 1000) * 1000};
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
        bc_log(BC_LOG_INFO, "redis %s: connected again; caching resumes",
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
        fault(st, what,
              st->ctx->err == REDIS_ERR_IO && errno == EAGAIN
                  ? "no answer within redis.timeout_ms"
                  : st->ctx->errstr);
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
    drop_reply(st);
    if (ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(st->ctx, "GET %s", key);
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
