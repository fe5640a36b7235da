/* revalidate.c: the validators of a kept copy and the entry a 304 makes
 * of it. */
#include "revalidate.h"

#include <string.h>

#include "refresh.h"

int bc_revalidate_validators(const bc_entry *e, bc_validators *v)
{
    memset(v, 0, sizeof *v);
    if (!bc_response_find_line(e->head, e->head_len, "ETag", &v->etag,
                               &v->etag_len) ||
        v->etag_len == 0)
        v->etag = NULL;
    if (!bc_response_find_line(e->head, e->head_len, "Last-Modified", &v->lm,
                               &v->lm_len) ||
        v->lm_len == 0)
        v->lm = NULL;
    return v->etag || v->lm;
}

static int same(const char *a, size_t alen, const bc_header *h)
{
    return h && h->value_len == alen && memcmp(h->value, a, alen) == 0;
}

int bc_revalidate_matches(const bc_validators *v, const bc_response_head *fresh,
                          size_t body_len)
{
    const bc_header *cl = bc_response_find(fresh, "Content-Length");
    if (cl &&
        bc_storable_content_length(cl->value, cl->value_len) != (long)body_len)
        return 0;
    if (v->etag)
        return same(v->etag, v->etag_len, bc_response_find(fresh, "ETag"));
    return v->lm &&
           same(v->lm, v->lm_len, bc_response_find(fresh, "Last-Modified"));
}

/* Whether the entity-tag S[0..N) is weak ("W/" in front). */
static int weak_tag(const char *s, size_t n)
{
    return n >= 2 && s[0] == 'W' && s[1] == '/';
}

/* RFC 9110 8.8.3.2: strong comparison when A is strong (then B must be
 * strong and equal), else weak comparison (the opaque tags equal). */
static int tag_selects(const char *a, size_t alen, const char *b, size_t blen)
{
    if (!weak_tag(a, alen))
        return !weak_tag(b, blen) && alen == blen && memcmp(a, b, alen) == 0;
    a += 2;
    alen -= 2;
    if (weak_tag(b, blen)) {
        b += 2;
        blen -= 2;
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

int bc_revalidate_selects(const bc_validators *v, const bc_response_head *fresh)
{
    const bc_header *etag = bc_response_find(fresh, "ETag");
    if (etag)
        return v->etag &&
               tag_selects(etag->value, etag->value_len, v->etag, v->etag_len);
    const bc_header *lm = bc_response_find(fresh, "Last-Modified");
    if (lm)
        return v->lm && same(v->lm, v->lm_len, lm);
    return 1;
}

/* Parses the stored-form head HEAD[0..LEN) (room for 2 more bytes after
 * it) as a response head into *OUT. */
static int parse_stored(char *head, size_t len, bc_response_head *out)
{
    memcpy(head + len, "\r\n", 2);
    return bc_response_parse_head(head, len + 2, out) == 1 ? 0 : -1;
}

int bc_revalidate_refresh(const bc_config *cfg, const bc_endpoint *ep,
                          const bc_entry *e, const bc_response_head *fresh,
                          unsigned request_flags, int64_t now_ms, char *buf,
                          bc_refreshed *out)
{
    /* Judged with the fresh Age, which counts against the lifetime;
     * stored without it, as every entry is (a hit says its own Age). */
    const char *const judged_skip[] = {cfg->cache.tags_header, NULL};
    const char *const stored_skip[] = {cfg->cache.tags_header, "Age", NULL};
    const size_t half = BC_RESPONSE_MAX_HEAD;
    long jn = bc_refresh_merge(e->head, e->head_len, fresh, judged_skip, buf,
                               half - 2);
    if (jn < 0)
        return -1;
    char *stored = buf + half;
    long sn = bc_refresh_merge(e->head, e->head_len, fresh, stored_skip, stored,
                               half);
    bc_response_head judged;
    if (sn < 0 || parse_stored(buf, (size_t)jn, &judged) < 0)
        return -1;
    bc_verdict *v = &out->verdict;
    bc_storable_judge(cfg, ep, &judged, request_flags, now_ms / 1000, v);
    if (v->why == BC_REASON_NONE && v->content_length >= 0 &&
        v->content_length != (long)e->body_len) {
        v->why = BC_REASON_MALFORMED;
        v->reason = bc_reason_token(v->why);
    }
    const char *bcc;
    size_t bcc_len;
    int targeted = bc_response_find_line(
        stored, (size_t)sn, "Bocache-Cache-Control", &bcc, &bcc_len);
    out->entry = (bc_entry){
        .status = e->status,
        .flags = v->flags | (targeted ? BC_ENTRY_TARGETED : 0u),
        .created_ms = now_ms,
        .ttl = (uint32_t)v->ttl,
        .stale_ttl = (uint32_t)v->stale_ttl,
        .error_ttl = (uint32_t)v->error_ttl,
        .initial_age = (uint32_t)v->age,
        .head = stored,
        .head_len = (size_t)sn,
        .tags = e->tags,
        .tags_len = e->tags_len,
        .body = e->body,
        .body_len = e->body_len,
    };
    return 0;
}
