/* message.h: invalidation messages (SPEC 5), parsed from and encoded to the
 * payloads published on redis.channel. No I/O. */
#ifndef BOCACHE_MESSAGE_H
#define BOCACHE_MESSAGE_H

#include <stddef.h>

/* Limits on what bc_message_parse accepts. */
#define BC_MESSAGE_MAX_PAYLOAD 65536 /* bytes of the whole payload */
#define BC_MESSAGE_MAX_ITEMS 1000    /* elements of uris or tags */
#define BC_MESSAGE_MAX_STRING 4096   /* bytes of any one string */
#define BC_MESSAGE_MAX_ID 200        /* bytes of id */

/* One invalidation. Exactly one kind is set: PATTERN (a Redis glob over the
 * whole entry key), PARTNER_ID (decimal or other identifier as a string),
 * TAGS (NTAGS > 0) or FLUSH. URIS (NURIS > 0) narrows PATTERN or
 * PARTNER_ID to entries whose PATH starts with one of them; each starts
 * with '/'. ID, when not NULL, is the publisher's unique message id. All
 * strings are NUL-terminated and contain no NUL. */
typedef struct bc_message {
    char *id;
    char *pattern;
    char *partner_id;
    char **uris;
    size_t nuris;
    char **tags;
    size_t ntags;
    int flush;
} bc_message;

/* Parses the payload PAYLOAD[0..LEN) into OUT, which is overwritten.
 *
 * A JSON object is a message with the fields id, pattern, partner_id
 * (string or integer), uris, tags and flush; any other field is an error,
 * because a mistyped qualifier ("uri" for "uris") that was ignored would
 * silently widen an invalidation, and a field from a newer publisher is
 * better refused and logged than half applied. A payload that starts with
 * '{' (after whitespace) but is not valid JSON is malformed. Any other
 * non-empty payload is a bare pattern, its surrounding whitespace trimmed
 * (so a pattern starting with '{' must be sent as JSON).
 *
 * Returns 0 with OUT filled (strings are OUT's own; release them with
 * bc_message_free), or -1 when the message is malformed, with a reason for
 * the operator in ERR[0..ERRLEN) (when ERR is not NULL) and OUT left empty,
 * so bc_message_free on it is harmless but not needed. */
int bc_message_parse(const char *payload, size_t len, bc_message *out,
                     char *err, size_t errlen);

/* Frees the strings and arrays of a message that bc_message_parse filled
 * and empties it; safe on an emptied message. Not for messages whose
 * fields the caller points at its own storage. */
void bc_message_free(bc_message *m);

/* Encodes M as compact JSON for publishing: id when not NULL, then the
 * kind's field, then uris when NURIS > 0; bc_message_parse reads it back
 * into the same message. Returns a NUL-terminated string that the caller
 * frees with free(), or NULL when memory runs out or a string is not valid
 * UTF-8 (JSON cannot carry it). */
char *bc_message_encode(const bc_message *m);

#endif
