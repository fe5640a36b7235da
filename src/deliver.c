/* deliver.c: serving an entry, a 304, STALE or an error page, and the
 * cache headers on every response. */
#include "deliver.h"

#include <string.h>
#include <strings.h>

#include "conditional.h"
#include "response.h"
#include "stats.h"

/* The Cache-Status parameters go between the two halves (deliver.h). */
int bc_deliver_begin_headers(bc_worker *w, const char *xcache)
{
    if (bc_fcgi_out_str(&w->out, w->cfg->cache.status_header) < 0 ||
        bc_fcgi_out_add(&w->out, ": ", 2) < 0 ||
        bc_fcgi_out_str(&w->out, xcache) < 0)
        return -1;
    static const char cs[] = "\r\nCache-Status: bocache; ";
    return bc_fcgi_out_add(&w->out, cs, sizeof cs - 1);
}

int bc_deliver_end_headers(bc_worker *w, long age)
{
    if (bc_fcgi_out_add(&w->out, "\r\n", 2) < 0)
        return -1;
    if (age >= 0 && (bc_fcgi_out_add(&w->out, "Age: ", 5) < 0 ||
                     bc_fcgi_out_long(&w->out, age) < 0 ||
                     bc_fcgi_out_add(&w->out, "\r\n", 2) < 0))
        return -1;
    return bc_fcgi_out_add(&w->out, "\r\n", 2);
}

void bc_deliver_error(bc_worker *w, int status, const char *phrase)
{
    w->out.len = 0;
    if (bc_fcgi_out_printf(&w->out,
                           "Status: %d %s\r\nContent-Type: text/plain\r\n"
                           "Cache-Control: no-store\r\n",
                           status, phrase) < 0 ||
        bc_deliver_begin_headers(w, bc_fill_xcache(w->outcome)) < 0 ||
        bc_fcgi_out_printf(&w->out, "fwd=%s; detail=backend-%d",
                           bc_fill_keyed(w->outcome) ? "miss" : "bypass",
                           status) < 0 ||
        bc_deliver_end_headers(w, -1) < 0 ||
        bc_fcgi_out_printf(&w->out,
                           "%d %s: the application did not answer properly\n",
                           status, phrase) < 0)
        return;
    bc_fcgi_out_send_text(&w->out);
}

/* Our headers on an answer from an entry AGE seconds old. */
static int hit_headers(bc_worker *w, const bc_entry *e, bc_served as, long age)
{
    if (as == BC_SERVED_REVALIDATED)
        return bc_deliver_begin_headers(w, "MISS") < 0 ||
                       bc_fcgi_out_str(&w->out, "fwd=stale; fwd-status=304") < 0
                   ? -1
                   : bc_deliver_end_headers(w, age);
    if (bc_deliver_begin_headers(w, as == BC_SERVED_STALE ? "STALE" : "HIT") <
            0 ||
        bc_fcgi_out_str(&w->out, "hit; ttl=") < 0 ||
        bc_fcgi_out_long(&w->out, (long)e->ttl - age) < 0 ||
        (as == BC_SERVED_MEMORY &&
         bc_fcgi_out_str(&w->out, "; detail=memory") < 0))
        return -1;
    return bc_deliver_end_headers(w, age);
}

/* Answers 304 with the stored lines a 304 carries (RFC 9110 15.4.5),
 * labelled as the entry is (HIT or STALE). */
/* Appends the lines of E's head whose name KEEP accepts to w->out's
 * text; 0 or -1. */
static int add_lines(bc_worker *w, const bc_entry *e,
                     int (*keep)(const char *name, size_t len))
{
    for (const char *p = e->head, *end = e->head + e->head_len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        const char *colon = memchr(p, ':', (size_t)(next - p));
        if (colon && keep(p, (size_t)(colon - p)) &&
            bc_fcgi_out_add(&w->out, p, (size_t)(next - p)) < 0)
            return -1;
        p = next;
    }
    return 0;
}

static void send_not_modified(bc_worker *w, const bc_entry *e, long age,
                              bc_served as)
{
    w->out.len = 0;
    static const char status[] = "Status: 304 Not Modified\r\n";
    bc_fcgi_out_add(&w->out, status, sizeof status - 1);
    if (add_lines(w, e, bc_conditional_keep_header) == 0 &&
        hit_headers(w, e, as, age) == 0)
        bc_fcgi_out_send_text(&w->out);
}

/* Whether the request's validators match the entry. */
static int not_modified(bc_worker *w, const bc_entry *e)
{
    const char *inm = w->v.if_none_match;
    const char *ims = w->v.if_modified_since;
    if (!inm && !ims)
        return 0;
    const char *etag = NULL, *lm = NULL;
    size_t etag_len = 0, lm_len = 0;
    bc_response_find_line(e->head, e->head_len, "ETag", &etag, &etag_len);
    bc_response_find_line(e->head, e->head_len, "Last-Modified", &lm, &lm_len);
    return bc_conditional_not_modified(etag, etag_len, lm, lm_len, inm, ims);
}

static bc_stat served_stat(bc_served as)
{
    switch (as) {
    case BC_SERVED_HIT:
        break;
    case BC_SERVED_MEMORY:
        return BC_STAT_HIT_MEMORY;
    case BC_SERVED_STALE:
        return BC_STAT_STALE;
    case BC_SERVED_REVALIDATED:
        return BC_STAT_REVALIDATED;
    }
    return BC_STAT_HIT;
}

/* Whether a stored line named NAME[0..LEN) goes to the client: every one
 * but Bocache-Cache-Control, which is bocache's alone (RFC 9213). */
static int not_targeted(const char *name, size_t len)
{
    static const char bcc[] = "Bocache-Cache-Control";
    return len != sizeof bcc - 1 || strncasecmp(name, bcc, len) != 0;
}

/* Serves an entry whose head holds Bocache-Cache-Control lines: the head
 * is composed without them. */
static void deliver_targeted(bc_worker *w, const bc_entry *e, long age,
                             bc_served as)
{
    w->out.len = 0;
    if (add_lines(w, e, not_targeted) < 0 || hit_headers(w, e, as, age) < 0 ||
        bc_fcgi_out_send_text(&w->out) < 0)
        return;
    bc_fcgi_out_put(&w->out, e->body, w->v.head ? 0 : e->body_len);
    if (w->out.npend > 0)
        bc_fcgi_out_flush(&w->out);
}

/* Serves a decoded entry AGE seconds old, AS it was found. */
void bc_deliver_entry(bc_worker *w, const bc_entry *e, long age, bc_served as)
{
    bc_stats_add(&w->sh->stats, served_stat(as), 1);
    if (not_modified(w, e)) {
        send_not_modified(w, e, age, as);
        return;
    }
    if (e->flags & BC_ENTRY_TARGETED) {
        deliver_targeted(w, e, age, as);
        return;
    }
    w->out.len = 0;
    if (hit_headers(w, e, as, age) < 0)
        return;
    size_t body = w->v.head ? 0 : e->body_len;
    /* An answer that will not fit in libfcgi's buffer goes out as three
     * queued records in one writev, head included. */
    if (e->head_len + w->out.len + body > bc_fcgi_out_room(&w->out))
        bc_fcgi_out_queue(&w->out, e->head, e->head_len);
    else
        bc_fcgi_out_put(&w->out, e->head, e->head_len);
    bc_fcgi_out_send_text(&w->out);
    bc_fcgi_out_put(&w->out, e->body, body);
    /* A large body was queued by reference: write it while the entry
     * (a Redis reply, a memory tier blob) is certainly still there. A
     * small one waits in libfcgi's buffer for END_REQUEST. */
    if (w->out.npend > 0)
        bc_fcgi_out_flush(&w->out);
}
