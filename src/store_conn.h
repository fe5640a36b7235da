/* store_conn.h: the connection helpers store.c lends the store's other
 * files (store_index.c); callers outside the store use store.h only. */
#ifndef BOCACHE_STORE_CONN_H
#define BOCACHE_STORE_CONN_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "store.h"

/* ST's connection, borrowed: NULL while it is down, and freed by any
 * fault. Valid after bc_store_ensure_connected returned 0. */
redisContext *bc_store_context(bc_store *st);

/* Every command starts here: the replies of the previous one are freed,
 * those of a deferred batch read. */
void bc_store_drop_reply(bc_store *st);

/* Connects ST unless it is connected or its reconnect backoff has not run
 * out. Returns 0, or -1 (after a fault, bc_store_error says why). */
int bc_store_ensure_connected(bc_store *st);

/* Checks reply R of the command WHAT, NULL after a transport error.
 * Returns 0, or -1 after a fault (an error reply R is freed). */
int bc_store_check_reply(bc_store *st, redisReply *r, const char *what);

/* Reads N pipelined replies, reporting the first server error as a
 * refusal named WHAT. Returns -1 after a fault on a transport error; on a
 * server error -1 when STRICT or when it is the first reply, else 0. */
int bc_store_drain_replies(bc_store *st, size_t n, const char *what,
                           int strict);

#endif
