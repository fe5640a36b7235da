/* client.c: libbocache: invalidations published the way SPEC 5 asks of
 * this project's publishers (claim, remove, publish), and key computation. */
#include "bocache/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "invalidate.h"
#include "key.h"
#include "log.h"
#include "message.h"
#include "store.h"

/* Removal scans the keyspace; its commands get more time than a lookup. */
#define CLIENT_TIMEOUT_MS 5000
/* A removal that failed part-way is retried with backoff for this long
 * (SPEC 7), then handed over to the gateways: a caller such as a web
 * request's signal handler cannot wait for as long as the entries live. */
#define CLIENT_RETRY_MS 2000

struct bc_client {
    bc_config *cfg;
    bc_store *store; /* reports nothing: the caller reads c->err */
    char err[512];
};

bc_client *bc_client_new_from_config(bc_config *cfg)
{
    bc_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = cfg;
    c->store = bc_store_new(cfg, NULL);
    if (!c->store) {
        free(c);
        return NULL;
    }
    bc_store_set_timeout(c->store, CLIENT_TIMEOUT_MS);
    return c;
}

bc_client *bc_client_new(const char *config_path, char *err, size_t errlen)
{
    bc_config *cfg = bc_config_load(config_path, err, errlen);
    if (!cfg)
        return NULL;
    bc_client *c = bc_client_new_from_config(cfg);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        bc_config_free(cfg);
    }
    return c;
}

void bc_client_free(bc_client *c)
{
    if (!c)
        return;
    bc_store_free(c->store);
    bc_config_free(c->cfg);
    free(c);
}

const bc_config *bc_client_config(const bc_client *c)
{
    return c->cfg;
}

const char *bc_client_error(const bc_client *c)
{
    return c->err;
}

/* WHAT failed on Redis: the store says how ("connect: Connection
 * refused", "SET NX: NOAUTH ...", "... no answer within ..."). */
static int redis_fault(bc_client *c, const char *what)
{
    snprintf(c->err, sizeof c->err,
             "%s: Redis at %s: %s; check that it runs and that "
             "redis.address and redis.password are right",
             what, c->cfg->redis.address, bc_store_error(c->store));
    return -1;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Removes what M covers, its id claimed, retrying with backoff for
 * CLIENT_RETRY_MS. Returns the number removed, or -1 with the last
 * failure in C->err. */
static long remove_retrying(bc_client *c, const bc_message *m, int *attempts)
{
    int64_t give_up = bc_now_ms() + CLIENT_RETRY_MS;
    long wait = 100;
    for (*attempts = 1;; ++*attempts) {
        long n =
            bc_invalidate_apply(c->store, c->cfg, m, c->err, sizeof c->err);
        if (n >= 0 || bc_now_ms() + wait > give_up)
            return n;
        pause_ms(wait);
        wait *= 2;
        bc_store_retry_now(c->store); /* this loop is the backoff */
    }
}

/* The removal kept failing: publishes M under a fresh id that nobody has
 * claimed, so the first gateway to hear it claims it and retries the
 * removal for as long as the entries live. Returns -1 (the removal did
 * not happen synchronously) with C->err saying what became of it. */
static int hand_over(bc_client *c, bc_message *m, int attempts)
{
    char why[256], id[BC_INVALIDATE_ID_SIZE];
    snprintf(why, sizeof why, "%.255s", c->err);
    char *json = NULL;
    long heard = -1;
    if (bc_invalidate_new_id(id) == 0) {
        m->id = id;
        json = bc_message_encode(m);
    }
    bc_store_retry_now(c->store);
    if (json)
        heard = bc_store_publish(c->store, c->cfg->redis.channel, json,
                                 strlen(json));
    free(json);
    if (heard > 0)
        snprintf(c->err, sizeof c->err,
                 "%s after %d attempts; handed over to the %ld gateway "
                 "process(es) listening on %s, which retry it",
                 why, attempts, heard, c->cfg->redis.channel);
    else
        snprintf(c->err, sizeof c->err,
                 "%s after %d attempts, and no gateway took it over: the "
                 "entries left expire with their TTL",
                 why, attempts);
    return -1;
}

/* Claims M's id, removes what it covers, then announces it for the
 * gateways' in-memory tiers. */
static int publish(bc_client *c, bc_message *m, long *removed)
{
    char id[BC_INVALIDATE_ID_SIZE];
    if (bc_invalidate_new_id(id) < 0) {
        snprintf(c->err, sizeof c->err, "no random bytes for a message id");
        return -1;
    }
    m->id = id;
    int rc = -1, attempts;
    if (bc_invalidate_claim(c->store, c->cfg, id) < 0) {
        redis_fault(c, "claim");
        goto out;
    }
    long n = remove_retrying(c, m, &attempts);
    if (n < 0) {
        hand_over(c, m, attempts);
        goto out;
    }
    if (bc_invalidate_announce(c->store, c->cfg, m, c->err, sizeof c->err) < 0)
        goto out;
    if (removed)
        *removed = n;
    rc = 0;
out:
    m->id = NULL; /* borrowed, not the message's to free */
    return rc;
}

int bc_client_invalidate_pattern(bc_client *c, const char *pattern,
                                 const char *const *uris, size_t nuris,
                                 long *removed)
{
    if (!pattern || !*pattern) {
        snprintf(c->err, sizeof c->err, "the pattern must not be empty");
        return -1;
    }
    bc_message m = {
        .pattern = (char *)pattern, .uris = (char **)uris, .nuris = nuris};
    return publish(c, &m, removed);
}

int bc_client_invalidate_partner(bc_client *c, const char *partner_id,
                                 const char *const *uris, size_t nuris,
                                 long *removed)
{
    if (!partner_id || !*partner_id) {
        snprintf(c->err, sizeof c->err, "the partner id must not be empty");
        return -1;
    }
    bc_message m = {.partner_id = (char *)partner_id,
                    .uris = (char **)uris,
                    .nuris = nuris};
    return publish(c, &m, removed);
}

int bc_client_invalidate_tags(bc_client *c, const char *const *tags,
                              size_t ntags, long *removed)
{
    if (ntags == 0) {
        snprintf(c->err, sizeof c->err, "give at least one tag");
        return -1;
    }
    bc_message m = {.tags = (char **)tags, .ntags = ntags};
    return publish(c, &m, removed);
}

int bc_client_flush(bc_client *c, long *removed)
{
    bc_message m = {.flush = 1};
    return publish(c, &m, removed);
}

typedef struct header_list {
    const bc_client_header *h;
    size_t n;
} header_list;

static const char *find_header(void *ctx, const char *name, int *count)
{
    const header_list *l = ctx;
    const char *first = NULL;
    *count = 0;
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->h[i].name, name) == 0 && (*count)++ == 0)
            first = l->h[i].value;
    return first;
}

int bc_client_key(bc_client *c, const char *method, const char *uri,
                  const bc_client_header *headers, size_t nheaders, char *out,
                  size_t outlen)
{
    char path[BC_KEY_MAX];
    const char *q = strchr(uri, '?');
    size_t n = q ? (size_t)(q - uri) : strlen(uri);
    if (n >= sizeof path) {
        snprintf(c->err, sizeof c->err, "%s",
                 bc_key_status_str(BC_KEY_TOO_LONG));
        return -1;
    }
    memcpy(path, uri, n);
    path[n] = '\0';
    header_list l = {headers, nheaders};
    bc_request rq = {.method = method ? method : "GET",
                     .path = path,
                     .query = q ? q + 1 : NULL,
                     .header = find_header,
                     .ctx = &l};
    const bc_endpoint *ep;
    bc_key_status st = bc_key_build(c->cfg, &rq, &ep, out, outlen);
    if (st != BC_KEY_OK) {
        snprintf(c->err, sizeof c->err, "not cacheable: %s",
                 bc_key_status_str(st));
        return -1;
    }
    return 0;
}
