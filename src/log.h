/* log.h: leveled logging to stderr or syslog, and rate-limited fault logs. */
#ifndef BOCACHE_LOG_H
#define BOCACHE_LOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bocache/config.h"

/* Sets where and what is logged. Called from main at start and on reload,
 * before or between requests; the settings are plain configuration. */
void bc_log_setup(bc_log_level level, int use_syslog, const char *ident);

/* Logs one line at LEVEL if the configured level lets it through. */
void bc_log(bc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A per-event-class limiter: at most one line per interval for a fault that
 * would otherwise be logged per request. Lives in whatever object owns the
 * event (one per process), zero-initialised. */
typedef struct bc_ratelimit {
    _Atomic int64_t next_ms;
    _Atomic uint64_t suppressed;
} bc_ratelimit;

#define BC_RATELIMIT_INTERVAL_MS 10000

/* Logs like bc_log when RL's interval has passed, appending how many lines
 * were suppressed since the last one; otherwise only counts. */
void bc_log_limited(bc_ratelimit *rl, bc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies IN[0..LEN) into OUT (CAP bytes, NUL-terminated when CAP > 0)
 * with control bytes and DEL written as \xNN and '\' as '\\', so text from
 * clients, backends and publishers cannot forge or split log lines. Stops
 * before an escape that would not fit whole. Returns the length written.
 * bc_log and bc_log_limited apply it to every message. */
size_t bc_log_escape(const char *in, size_t len, char *out, size_t cap);

/* Monotonic and wall clocks in milliseconds. */
int64_t bc_now_ms(void);
int64_t bc_wall_ms(void);

#endif
