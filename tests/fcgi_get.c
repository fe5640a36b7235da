/* fcgi_get.c: a FastCGI client for the integration tests, sending one
 * responder request the way nginx's fastcgi_params would and printing the
 * answer.
 *
 * Usage: fcgi_get [-X METHOD] [-H 'Name: value']... [-d BODY|@FILE]
 *                 [-p NAME=VALUE]... [-P NAME=VALUE]... [-t TIMEOUT_MS]
 *                 [-n COUNT] [-k] [-a MS] [-b]
 *                 ADDR URI
 *
 * -p sets a parameter, replacing a default; -P appends one more copy, as
 * a web server passes a repeated header. ADDR is "unix:/path" or
 * "host:port". The CGI head and body (STDOUT) go to
 * standard output as received, or only the body with -b; STDERR records go
 * to standard error. -n repeats the request COUNT times on new connections
 * and prints only the last answer; with -k all of them go over one
 * connection with FCGI_KEEP_CONN, as nginx's fastcgi_keep_conn does, so a
 * server that closes it fails the next request. -a closes the connection
 * MS ms after the first STDOUT byte, as a client that goes away. Exit status: 0
 * after END_REQUEST (or a deliberate -a close), 1 on a connection error, a
 * timeout or a truncated or malformed stream, 2 on bad usage. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fcgi_record.h"

#define REQUEST_ID 1
#define MAX_CHUNK 65528 /* a multiple of 8 that fits a record */

struct param {
    char *name;
    char *value;
};

struct options {
    const char *addr;
    const char *uri;
    const char *method;
    char *body;
    size_t body_len;
    int timeout_ms;
    int count;
    int abort_ms; /* -1: never */
    int body_only;
    int keep; /* -k: all -n requests over one FCGI_KEEP_CONN connection */
    struct param *params;
    size_t nparams;
};

/* What one request did with its output. */
struct output {
    int print;
    int body_only;
    int newlines; /* consecutive line ends seen while skipping the head */
    int in_body;
    size_t stdout_bytes;
};

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fcgi_get: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: fcgi_get [-X METHOD] [-H 'Name: value']... "
                    "[-d BODY|@FILE] [-p NAME=VALUE]...\n"
                    "                [-t TIMEOUT_MS] [-n COUNT] [-a MS] [-b] "
                    "ADDR URI\n");
    exit(2);
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (p == NULL)
        die("out of memory");
    return p;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets NAME to VALUE, replacing an earlier value so that -H and -p can
 * override the defaults. */
static void set_param(struct options *o, const char *name, size_t name_len,
                      const char *value, int append)
{
    for (size_t i = 0; i < o->nparams && !append; i++) {
        if (strlen(o->params[i].name) == name_len &&
            memcmp(o->params[i].name, name, name_len) == 0) {
            free(o->params[i].value);
            o->params[i].value = xstrndup(value, strlen(value));
            return;
        }
    }
    o->params = realloc(o->params, (o->nparams + 1) * sizeof(*o->params));
    if (o->params == NULL)
        die("out of memory");
    o->params[o->nparams].name = xstrndup(name, name_len);
    o->params[o->nparams].value = xstrndup(value, strlen(value));
    o->nparams++;
}

/* "Name: value" becomes HTTP_NAME=value, as a web server passes headers. */
static void add_header(struct options *o, const char *h)
{
    const char *colon = strchr(h, ':');
    char name[256];
    size_t n = 0;

    if (colon == NULL || colon == h)
        die("bad header '%s' (want 'Name: value')", h);
    n = (size_t)snprintf(name, sizeof(name), "HTTP_");
    for (const char *p = h; p < colon && n + 1 < sizeof(name); p++)
        name[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    name[n] = '\0';
    colon++;
    while (*colon == ' ' || *colon == '\t')
        colon++;
    /* Like nginx, the body's headers travel without the HTTP_ prefix. */
    if (strcmp(name, "HTTP_CONTENT_TYPE") == 0)
        set_param(o, "CONTENT_TYPE", strlen("CONTENT_TYPE"), colon, 0);
    else if (strcmp(name, "HTTP_CONTENT_LENGTH") == 0)
        set_param(o, "CONTENT_LENGTH", strlen("CONTENT_LENGTH"), colon, 0);
    else
        set_param(o, name, n, colon, 0);
}

static void read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);

    if (f == NULL)
        die("cannot open '%s'", path);
    if (buf == NULL)
        die("out of memory");
    for (;;) {
        size_t got;

        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (buf == NULL)
                die("out of memory");
        }
        got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *data = buf;
    *len = n;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* PATH with its %XX escapes decoded in place, as nginx's $uri (and so
 * DOCUMENT_URI) has it. */
static char *decode_path(char *path)
{
    char *w = path;
    for (char *r = path; *r; w++) {
        int hi = r[0] == '%' ? hexval((unsigned char)r[1]) : -1;
        int lo = hi >= 0 ? hexval((unsigned char)r[2]) : -1;
        if (lo >= 0 && (hi || lo)) {
            *w = (char)(hi * 16 + lo);
            r += 3;
        } else
            *w = *r++;
    }
    *w = '\0';
    return path;
}

static void default_params(struct options *o)
{
    const char *q = strchr(o->uri, '?');
    size_t path_len = q != NULL ? (size_t)(q - o->uri) : strlen(o->uri);
    char *path = xstrndup(o->uri, path_len);
    char len[32];

    set_param(o, "QUERY_STRING", 12, q != NULL ? q + 1 : "", 0);
    set_param(o, "REQUEST_METHOD", 14, o->method, 0);
    set_param(o, "CONTENT_TYPE", 12,
              o->body != NULL ? "application/x-www-form-urlencoded" : "", 0);
    snprintf(len, sizeof(len), "%zu", o->body_len);
    set_param(o, "CONTENT_LENGTH", 14, o->body != NULL ? len : "", 0);
    set_param(o, "SCRIPT_NAME", 11, path, 0);
    set_param(o, "REQUEST_URI", 11, o->uri, 0);
    set_param(o, "DOCUMENT_URI", 12, decode_path(path), 0);
    set_param(o, "DOCUMENT_ROOT", 13, "/var/www", 0);
    set_param(o, "SERVER_PROTOCOL", 15, "HTTP/1.1", 0);
    set_param(o, "REQUEST_SCHEME", 14, "http", 0);
    set_param(o, "GATEWAY_INTERFACE", 17, "CGI/1.1", 0);
    set_param(o, "SERVER_SOFTWARE", 15, "fcgi_get", 0);
    set_param(o, "REMOTE_ADDR", 11, "127.0.0.1", 0);
    set_param(o, "REMOTE_PORT", 11, "54321", 0);
    set_param(o, "SERVER_ADDR", 11, "127.0.0.1", 0);
    set_param(o, "SERVER_PORT", 11, "80", 0);
    set_param(o, "SERVER_NAME", 11, "localhost", 0);
    set_param(o, "HTTP_HOST", 9, "localhost", 0);
    free(path);
}

static int connect_addr(const char *addr, int64_t deadline)
{
    int fd, rc;

    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un sun;

        if (strlen(addr + 5) >= sizeof(sun.sun_path))
            die("socket path too long: '%s'", addr);
        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        strcpy(sun.sun_path, addr + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
            close(fd);
            return -1;
        }
        return fd;
    }

    const char *colon = strrchr(addr, ':');
    struct addrinfo hints, *res = NULL;
    char host[256];

    if (colon == NULL || colon == addr ||
        (size_t)(colon - addr) >= sizeof(host))
        die("bad address '%s' (want unix:/path or host:port)", addr);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
        die("cannot resolve '%s'", addr);
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return -1;
    }
    rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int64_t left = deadline - now_ms();
        int err = 0;
        socklen_t el = sizeof(err);

        if (left < 0)
            left = 0;
        rc = poll(&p, 1, (int)left);
        if (rc == 0) {
            errno = ETIMEDOUT;
            rc = -1;
        } else if (rc > 0) {
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
            errno = err;
            rc = err == 0 ? 0 : -1;
        }
    }
    if (rc != 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* Writes all of BUF before DEADLINE. Returns 0 or -1. */
static int write_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
    while (len > 0) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int64_t left = deadline - now_ms();
        ssize_t n;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends DATA as records of TYPE, then the empty record that ends the
 * stream. */
static int send_stream(int fd, uint8_t type, const uint8_t *data, size_t len,
                       int64_t deadline)
{
    static const uint8_t zeros[8];
    uint8_t hdr[BC_FCGI_HEADER_LEN];

    while (len > 0) {
        size_t n = len > MAX_CHUNK ? MAX_CHUNK : len;
        uint8_t pad = (uint8_t)((8 - n % 8) % 8);

        bc_fcgi_header_encode(hdr, type, REQUEST_ID, (uint16_t)n, pad);
        if (write_all(fd, hdr, sizeof(hdr), deadline) != 0 ||
            write_all(fd, data, n, deadline) != 0 ||
            write_all(fd, zeros, pad, deadline) != 0)
            return -1;
        data += n;
        len -= n;
    }
    bc_fcgi_header_encode(hdr, type, REQUEST_ID, 0, 0);
    return write_all(fd, hdr, sizeof(hdr), deadline);
}

static int send_request(int fd, const struct options *o, int64_t deadline)
{
    uint8_t begin[16];
    size_t total = 0, off = 0;
    uint8_t *buf;
    int rc;

    for (size_t i = 0; i < o->nparams; i++)
        total += bc_fcgi_nv_size(strlen(o->params[i].name),
                                 strlen(o->params[i].value));
    buf = malloc(total + 1);
    if (buf == NULL)
        die("out of memory");
    for (size_t i = 0; i < o->nparams; i++) {
        const struct param *p = &o->params[i];

        off += bc_fcgi_nv_encode(buf + off, p->name, strlen(p->name), p->value,
                                 strlen(p->value));
    }
    bc_fcgi_begin_request_encode(begin, REQUEST_ID, BC_FCGI_RESPONDER,
                                 o->keep ? BC_FCGI_KEEP_CONN : 0);
    rc = write_all(fd, begin, sizeof(begin), deadline);
    if (rc == 0)
        rc = send_stream(fd, BC_FCGI_PARAMS, buf, off, deadline);
    if (rc == 0)
        rc = send_stream(fd, BC_FCGI_STDIN, (const uint8_t *)o->body,
                         o->body_len, deadline);
    free(buf);
    return rc;
}

static void emit(struct output *out, const uint8_t *data, size_t len)
{
    out->stdout_bytes += len;
    if (!out->print)
        return;
    if (!out->body_only || out->in_body) {
        fwrite(data, 1, len, stdout);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            if (++out->newlines == 2) {
                out->in_body = 1;
                fwrite(data + i + 1, 1, len - i - 1, stdout);
                return;
            }
        } else if (data[i] != '\r') {
            out->newlines = 0;
        }
    }
}

/* Runs one request. Returns the exit status. */
/* One request and its answer; with -k over *KEPT, the connection of the
 * request before (connected when -1), left open for the next. */
static int run_once(const struct options *o, int print, int *kept)
{
    int64_t deadline = now_ms() + o->timeout_ms, abort_at = -1;
    struct output out = {.print = print, .body_only = o->body_only};
    bc_fcgi_decoder dec;
    uint8_t buf[65536];
    int fd, send_errno = 0;

    fd = *kept >= 0 ? *kept : connect_addr(o->addr, deadline);
    *kept = -1;
    if (fd < 0) {
        fprintf(stderr, "fcgi_get: cannot connect to %s: %s\n", o->addr,
                strerror(errno));
        return 1;
    }
    /* A server may answer (say, with a 502) before reading the whole
     * request and then close, so a failed send is reported only when no
     * complete answer follows. */
    if (send_request(fd, o, deadline) != 0)
        send_errno = errno;
    bc_fcgi_decoder_init(&dec);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t now = now_ms(), until = deadline;
        ssize_t n;
        int rc;

        if (abort_at >= 0 && abort_at < until)
            until = abort_at;
        rc = until > now ? poll(&p, 1, (int)(until - now)) : 0;
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0 && abort_at >= 0 && now_ms() >= abort_at) {
            fprintf(stderr, "fcgi_get: closing after %zu bytes (-a)\n",
                    out.stdout_bytes);
            close(fd);
            return 0;
        }
        if (rc <= 0) {
            fprintf(stderr, "fcgi_get: timed out after %d ms (%zu bytes)\n",
                    o->timeout_ms, out.stdout_bytes);
            close(fd);
            return 1;
        }
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            if (send_errno != 0)
                fprintf(stderr, "fcgi_get: sending the request to %s: %s\n",
                        o->addr, strerror(send_errno));
            fprintf(stderr,
                    "fcgi_get: connection closed before END_REQUEST "
                    "(%zu bytes): %s\n",
                    out.stdout_bytes, n < 0 ? strerror(errno) : "EOF");
            close(fd);
            return 1;
        }
        for (size_t off = 0; off < (size_t)n;) {
            bc_fcgi_event ev;

            off += bc_fcgi_decode(&dec, buf + off, (size_t)n - off, &ev);
            switch (ev.type) {
            case BC_FCGI_EV_NONE:
            case BC_FCGI_EV_RECORD:
                break;
            case BC_FCGI_EV_STDOUT:
                if (abort_at < 0 && o->abort_ms >= 0 && ev.len > 0)
                    abort_at = now_ms() + o->abort_ms;
                emit(&out, ev.data, ev.len);
                break;
            case BC_FCGI_EV_STDERR:
                if (print)
                    fwrite(ev.data, 1, ev.len, stderr);
                break;
            case BC_FCGI_EV_END:
                if (o->keep && off == (size_t)n)
                    *kept = fd;
                else
                    close(fd);
                if (ev.protocol_status != 0) {
                    fprintf(stderr, "fcgi_get: protocol status %u\n",
                            ev.protocol_status);
                    return 1;
                }
                return 0;
            case BC_FCGI_EV_ERROR:
                fprintf(stderr, "fcgi_get: malformed FastCGI stream\n");
                close(fd);
                return 1;
            }
            if (ev.type == BC_FCGI_EV_NONE)
                break;
        }
    }
}

static int to_int(const char *s, int min)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > 86400000)
        usage();
    return (int)v;
}

int main(int argc, char **argv)
{
    struct options o = {
        .method = "GET", .timeout_ms = 10000, .count = 1, .abort_ms = -1};
    char **headers, **extra, **appended;
    size_t nheaders = 0, nextra = 0, nappended = 0;
    int opt, rc = 0;

    headers = calloc((size_t)argc, sizeof(*headers));
    extra = calloc((size_t)argc, sizeof(*extra));
    appended = calloc((size_t)argc, sizeof(*appended));
    if (headers == NULL || extra == NULL || appended == NULL)
        die("out of memory");
    while ((opt = getopt(argc, argv, "X:H:d:p:P:t:n:a:bk")) != -1) {
        switch (opt) {
        case 'X':
            o.method = optarg;
            break;
        case 'H':
            headers[nheaders++] = optarg;
            break;
        case 'd':
            if (optarg[0] == '@') {
                read_file(optarg + 1, &o.body, &o.body_len);
            } else {
                o.body = xstrndup(optarg, strlen(optarg));
                o.body_len = strlen(optarg);
            }
            break;
        case 'p':
            if (strchr(optarg, '=') == NULL || optarg[0] == '=')
                usage();
            extra[nextra++] = optarg;
            break;
        case 'P':
            if (strchr(optarg, '=') == NULL || optarg[0] == '=')
                usage();
            appended[nappended++] = optarg;
            break;
        case 't':
            o.timeout_ms = to_int(optarg, 1);
            break;
        case 'n':
            o.count = to_int(optarg, 1);
            break;
        case 'a':
            o.abort_ms = to_int(optarg, 0);
            break;
        case 'k':
            o.keep = 1;
            break;
        case 'b':
            o.body_only = 1;
            break;
        default:
            usage();
        }
    }
    if (argc - optind != 2)
        usage();
    o.addr = argv[optind];
    o.uri = argv[optind + 1];

    default_params(&o);
    for (size_t i = 0; i < nheaders; i++)
        add_header(&o, headers[i]);
    for (size_t i = 0; i < nextra; i++) {
        const char *eq = strchr(extra[i], '=');

        set_param(&o, extra[i], (size_t)(eq - extra[i]), eq + 1, 0);
    }
    for (size_t i = 0; i < nappended; i++) {
        const char *eq = strchr(appended[i], '=');

        set_param(&o, appended[i], (size_t)(eq - appended[i]), eq + 1, 1);
    }

    int kept = -1;
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < o.count && rc == 0; i++)
        rc = run_once(&o, i == o.count - 1, &kept);
    fflush(stdout);

    for (size_t i = 0; i < o.nparams; i++) {
        free(o.params[i].name);
        free(o.params[i].value);
    }
    free(o.params);
    free(o.body);
    free(headers);
    free(extra);
    free(appended);
    return rc;
}
