/* store_index.c: the expiring indexes, sorted sets scored by expiry on
 * the Redis server's clock: written by a Lua script, walked by ZSCAN and
 * trimmed by a remover that leaves rewritten members alone. */
#include <assert.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_conn.h"

int bc_store_zscan(bc_store *st, const char *key, unsigned long long *cursor,
                   int count, bc_store_member_fn fn, void *ctx)
{
    bc_store_drop_reply(st);
    if (bc_store_ensure_connected(st) < 0)
        return -1;
    redisReply *r = redisCommand(bc_store_context(st), "ZSCAN %s %llu COUNT %d",
                                 key, *cursor, count);
    if (bc_store_check_reply(st, r, "ZSCAN") < 0)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY ||
        r->element[1]->elements % 2 != 0) {
        freeReplyObject(r);
        bc_store_fault(st, "ZSCAN", "unexpected reply");
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
    bc_store_drop_reply(st);
    if (n == 0)
        return 0;
    if (bc_store_ensure_connected(st) < 0)
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
        redisAppendCommandArgv(bc_store_context(st), 4 + 2 * (int)m, argv,
                               argl);
    }
    return bc_store_drain_replies(st, batches, "index", 1);
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

void bc_store_append_index_add(bc_store *st, const char *index, long life_ms,
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
    redisAppendCommandArgv(bc_store_context(st), 6 + (int)n, argv, NULL);
}
