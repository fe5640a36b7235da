/* entry.h: the versioned binary format of a stored response. No I/O. */
#ifndef BOCACHE_ENTRY_H
#define BOCACHE_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/* The first bytes of every entry: "BC" and a format version. A reader skips
 * (treats as a miss) any version it does not know, so a later format can be
 * rolled out while old gateways still run. */
#define BC_ENTRY_VERSION 2

/* bc_entry.flags: what the response's own cache directives ask of every
 * reuse (RFC 9111 5.2.2). */
enum {
    BC_ENTRY_NO_CACHE = 1u,        /* revalidated before every use */
    BC_ENTRY_MUST_REVALIDATE = 2u, /* never served stale */
    /* The head keeps the response's Bocache-Cache-Control lines, the
     * policy a revalidation judges the entry by again (RFC 9213); they
     * are never served. */
    BC_ENTRY_TARGETED = 4u
};

typedef struct bc_entry {
    int status;
    unsigned flags;       /* BC_ENTRY_* */
    int64_t created_ms;   /* unix time in milliseconds when it was stored */
    uint32_t ttl;         /* freshness lifetime in seconds */
    uint32_t stale_ttl;   /* seconds after ttl during which it may be served
                             STALE while another request refreshes it */
    uint32_t error_ttl;   /* seconds after ttl during which it may be served
                             STALE when the backend fails */
    uint32_t initial_age; /* its age in seconds when stored (the backend's
                             Age, RFC 9111 4.2.3) */
    const char *head;     /* response header lines, each ending in CRLF or LF,
                             without the blank line and without the tags header */
    size_t head_len;
    const char *tags; /* surrogate tags, space-separated, may be empty */
    size_t tags_len;
    const char *body;
    size_t body_len;
} bc_entry;

/* Bytes bc_entry_encode needs for E. */
size_t bc_entry_encoded_size(const bc_entry *e);

/* Encodes E into OUT[0..CAP). E's body may already sit where it belongs in
 * OUT (at bc_entry_encoded_size of E without its body): it is then left
 * there, not copied, so a large body can be collected straight into the
 * entry. Returns the bytes written, or 0 when CAP is too small or a field
 * is out of range. */
size_t bc_entry_encode(const bc_entry *e, char *out, size_t cap);

/* Decodes BUF[0..LEN) into E, whose pointers then borrow from BUF. Returns 0,
 * or -1 when BUF is not a well-formed entry of a known version (truncated,
 * bad magic, unknown version, lengths that do not add up). Version 1
 * entries (before RFC 9111 freshness) decode with flags and initial age 0
 * and error_ttl = stale_ttl, as they were served. */
int bc_entry_decode(const char *buf, size_t len, bc_entry *e);

/* Age in whole seconds at NOW_MS: its initial age plus its time in the
 * cache (RFC 9111 4.2.3; never negative). */
int64_t bc_entry_age(const bc_entry *e, int64_t now_ms);

/* Whether E, AGE seconds old, may be served without asking the backend. */
static inline int bc_entry_fresh(const bc_entry *e, int64_t age)
{
    return !(e->flags & BC_ENTRY_NO_CACHE) && age < (int64_t)e->ttl;
}

#endif
