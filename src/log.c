/* log.c: leveled logging to stderr or syslog, and rate-limited fault logs. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* The log settings are configuration: written by main before the workers
 * start and on reload. They are atomics because a reload changes them while
 * workers log. */
static _Atomic int cur_level = BC_LOG_INFO;
static _Atomic int cur_syslog;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void bc_log_setup(bc_log_level level, int use_syslog, const char *ident)
{
    if (use_syslog && !cur_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    cur_level = level;
    cur_syslog = use_syslog;
}

size_t bc_log_escape(const char *in, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        int plain = c >= 0x20 && c != 0x7f && c != '\\';
        size_t need = plain ? 1 : c == '\\' ? 2 : 4;
        if (n + need >= cap)
            break; /* whole escapes only: never half of one */
        if (plain)
            out[n++] = (char)c;
        else if (c == '\\') {
            out[n++] = '\\';
            out[n++] = '\\';
        } else {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 0xf];
        }
    }
    out[n] = '\0';
    return n;
}

static void vlog(bc_log_level level, const char *suffix, const char *fmt,
                 va_list ap)
{
    char raw[1024], msg[4 * sizeof raw];
    int len = vsnprintf(raw, sizeof raw, fmt, ap);
    if (len < 0)
        len = 0;
    /* Messages quote what clients, backends and publishers sent (paths,
     * payloads, stderr): a newline there must not start a forged line. */
    bc_log_escape(raw, (size_t)len < sizeof raw ? (size_t)len : sizeof raw - 1,
                  msg, sizeof msg);
    if (cur_syslog) {
        syslog(syslog_prio[level], "%s%s", msg, suffix);
        return;
    }
    struct timespec ts;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    /* One fprintf per line: stdio locks the stream, so lines of concurrent
     * workers do not interleave. */
    fprintf(stderr, "%s.%03ldZ bocache[%ld] %s: %s%s\n", when,
            ts.tv_nsec / 1000000, (long)getpid(), level_names[level], msg,
            suffix);
}

void bc_log(bc_log_level level, const char *fmt, ...)
{
    if ((int)level > cur_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, "", fmt, ap);
    va_end(ap);
}

void bc_log_limited(bc_ratelimit *rl, bc_log_level level, const char *fmt, ...)
{
    if ((int)level > cur_level)
        return;
    int64_t now = bc_now_ms();
    int64_t next = atomic_load(&rl->next_ms);
    /* Whoever moves next_ms forward logs; everyone else only counts. */
    if (now < next ||
        !atomic_compare_exchange_strong(&rl->next_ms, &next,
                                        now + BC_RATELIMIT_INTERVAL_MS)) {
        atomic_fetch_add(&rl->suppressed, 1);
        return;
    }
    uint64_t n = atomic_exchange(&rl->suppressed, 0);
    char suffix[64] = "";
    if (n > 0)
        snprintf(suffix, sizeof suffix, " (%llu similar suppressed)",
                 (unsigned long long)n);
    va_list ap;
    va_start(ap, fmt);
    vlog(level, suffix, fmt, ap);
    va_end(ap);
}

int64_t bc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bc_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
