/* check_fcgi_client.c: unit tests of the backend client against a scripted
 * FastCGI server thread on a unix socket: what counts as a clean answer,
 * what reaches the sink, when a connection is kept, checked, closed, and
 * when a request is sent twice. */
#include "check_main.h"
#include "fcgi_client.h"
#include "fcgi_record.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

Suite *fcgi_client_suite(void);

#define WAIT_MS 5000 /* the bound of every wait for the server */

/* Bytes the server writes: records built by the tests. */
typedef struct bytes {
    uint8_t p[4096];
    size_t len;
} bytes;

/* What the server does with one request. */
typedef struct step {
    bytes reply;
    int silent;      /* close after reading the request, without a reply */
    int close_after; /* close after the reply */
    bytes late;      /* written once the test says go (late_go) */
} step;

typedef struct server {
    char dir[64], path[128];
    int lfd;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    step steps[8];
    int nsteps;
    /* What happened, under lock. */
    int conns, requests, closed;
    int last_keep;
    int late_go, late_done;
} server;

static void add_record(bytes *b, uint8_t type, uint16_t id, const char *data,
                       size_t len)
{
    uint8_t pad = (uint8_t)((8 - len % 8) % 8);

    ck_assert_uint_le(b->len + 8 + len + pad, sizeof b->p);
    bc_fcgi_header_encode(b->p + b->len, type, id, (uint16_t)len, pad);
    b->len += 8;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    memset(b->p + b->len, 0, pad);
    b->len += pad;
}

static void add_out(bytes *b, uint16_t id, const char *s)
{
    add_record(b, BC_FCGI_STDOUT, id, s, strlen(s));
}

static void add_end(bytes *b, uint16_t id, uint8_t protocol_status)
{
    char body[8] = {0};

    body[4] = (char)protocol_status;
    add_record(b, BC_FCGI_STDOUT, id, NULL, 0);
    add_record(b, BC_FCGI_END_REQUEST, id, body, sizeof body);
}

#define ANSWER "Status: 200 OK\r\n\r\nok"

static void add_answer(bytes *b)
{
    add_out(b, 1, ANSWER);
    add_end(b, 1, 0);
}

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads one request; *KEEP gets its FCGI_KEEP_CONN flag. */
static int read_request(int fd, int *keep)
{
    int params = 0, in = 0;
    uint8_t h[8], c[65536 + 256];

    if (read_full(fd, h, 8) < 0 || h[1] != BC_FCGI_BEGIN_REQUEST ||
        read_full(fd, c, (size_t)(h[4] << 8 | h[5]) + h[6]) < 0)
        return -1;
    *keep = c[2] & BC_FCGI_KEEP_CONN;
    while (!params || !in) {
        size_t len;
        if (read_full(fd, h, 8) < 0)
            return -1;
        len = (size_t)(h[4] << 8 | h[5]);
        if (read_full(fd, c, len + h[6]) < 0)
            return -1;
        if (h[1] == BC_FCGI_PARAMS && len == 0)
            params = 1;
        if (h[1] == BC_FCGI_STDIN && len == 0)
            in = 1;
    }
    return 0;
}

static void write_bytes(int fd, const bytes *b)
{
    if (b->len)
        ck_assert_int_eq(send(fd, b->p, b->len, MSG_NOSIGNAL), (ssize_t)b->len);
}

static void *serve(void *arg)
{
    server *s = arg;

    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&s->lock);
        s->conns++;
        pthread_mutex_unlock(&s->lock);
        for (;;) {
            int keep;
            step st;
            bytes normal = {.len = 0};

            if (read_request(fd, &keep) < 0)
                break;
            pthread_mutex_lock(&s->lock);
            s->last_keep = keep;
            if (s->requests < s->nsteps) {
                st = s->steps[s->requests];
            } else {
                memset(&st, 0, sizeof st);
                add_answer(&normal);
                st.reply = normal;
            }
            s->requests++;
            pthread_cond_broadcast(&s->cond);
            pthread_mutex_unlock(&s->lock);
            if (st.silent)
                break;
            write_bytes(fd, &st.reply);
            if (st.late.len) {
                pthread_mutex_lock(&s->lock);
                while (!s->late_go)
                    pthread_cond_wait(&s->cond, &s->lock);
                pthread_mutex_unlock(&s->lock);
                write_bytes(fd, &st.late);
                pthread_mutex_lock(&s->lock);
                s->late_done = 1;
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
            }
            if (st.close_after)
                break;
        }
        close(fd);
        pthread_mutex_lock(&s->lock);
        s->closed++;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
}

static void server_start(server *s)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    const char *tmp = getenv("TMPDIR");

    snprintf(s->dir, sizeof s->dir, "%s/bcfc.XXXXXX",
             tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(s->dir));
    snprintf(s->path, sizeof s->path, "%s/s", s->dir);
    strcpy(sun.sun_path, s->path);
    s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(s->lfd, 0);
    ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&sun, sizeof sun), 0);
    ck_assert_int_eq(listen(s->lfd, 8), 0);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    ck_assert_int_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
    shutdown(s->lfd, SHUT_RDWR); /* accept() returns */
    pthread_join(s->thread, NULL);
    close(s->lfd);
    unlink(s->path);
    rmdir(s->dir);
}

/* Waits until *FIELD reaches WANT; returns its value then (or at the
 * bound). */
static int wait_for(server *s, const int *field, int want)
{
    struct timespec ts;
    int v;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&s->lock);
    while (*field < want &&
           pthread_cond_timedwait(&s->cond, &s->lock, &ts) == 0)
        ;
    v = *field;
    pthread_mutex_unlock(&s->lock);
    return v;
}

static int get(server *s, const int *field)
{
    int v;

    pthread_mutex_lock(&s->lock);
    v = *field;
    pthread_mutex_unlock(&s->lock);
    return v;
}

/* What the sink received. */
typedef struct got {
    char out[4096];
    size_t len;
} got;

static int on_out(void *ctx, const char *data, size_t len)
{
    got *g = ctx;

    ck_assert_uint_le(g->len + len, sizeof g->out - 1);
    memcpy(g->out + g->len, data, len);
    g->len += len;
    g->out[g->len] = '\0';
    return 0;
}

static bc_fcgi_client *client(server *s, int keepalive, int idle_ms)
{
    char addr[160], err[256];
    bc_fcgi_client_settings set = {.connect_timeout_ms = 1000,
                                   .timeout_ms = WAIT_MS,
                                   .keepalive = keepalive,
                                   .keepalive_timeout_ms = idle_ms};
    bc_fcgi_client *c;

    snprintf(addr, sizeof addr, "unix:%s", s->path);
    c = bc_fcgi_client_new(addr, &set, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    return c;
}

/* One request with method METHOD (NULL: no REQUEST_METHOD at all; "GET,POST":
 * two copies); the sink's bytes go to G. */
static bc_backend_status request(bc_fcgi_client *c, const char *method, got *g)
{
    bc_fcgi_param p[3];
    size_t n = 0;
    bc_fcgi_sink sink = {on_out, NULL, NULL, g};
    const char *comma = method ? strchr(method, ',') : NULL;

    memset(g, 0, sizeof *g);
    p[n++] = (bc_fcgi_param){"REQUEST_URI", 11, "/x", 2};
    if (method && comma) {
        p[n++] = (bc_fcgi_param){"REQUEST_METHOD", 14, method,
                                 (size_t)(comma - method)};
        p[n++] =
            (bc_fcgi_param){"REQUEST_METHOD", 14, comma + 1, strlen(comma + 1)};
    } else if (method) {
        p[n++] = (bc_fcgi_param){"REQUEST_METHOD", 14, method, strlen(method)};
    }
    return bc_fcgi_client_request(c, p, n, NULL, NULL, &sink);
}

START_TEST(test_keepalive_reuses)
{
    server s = {0};
    got g;
    bc_fcgi_client *c;

    server_start(&s);
    c = client(&s, 1, 60000);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    ck_assert_str_eq(g.out, ANSWER);
    ck_assert_int_eq(get(&s, &s.last_keep), 1);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    ck_assert_int_eq(get(&s, &s.conns), 1);
    ck_assert_int_eq(get(&s, &s.closed), 0);
    bc_fcgi_client_free(c);
    server_stop(&s);
}
END_TEST

START_TEST(test_no_keepalive_closes)
{
    server s = {0};
    got g;
    bc_fcgi_client *c;

    server_start(&s);
    c = client(&s, 0, 2000);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    ck_assert_int_eq(get(&s, &s.last_keep), 0);
    /* The server got EOF: the client holds nothing between requests. */
    ck_assert_int_eq(wait_for(&s, &s.closed, 1), 1);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    ck_assert_int_eq(get(&s, &s.conns), 2);
    ck_assert_int_eq(wait_for(&s, &s.closed, 2), 2);
    bc_fcgi_client_free(c);
    server_stop(&s);
}
END_TEST

/* Runs one request whose reply is REPLY on a kept connection and checks
 * its status, the sink's bytes, and that the next request needed a new
 * connection when the status was not OK. */
static void one_reply(const bytes *reply, bc_backend_status want,
                      const char *want_out)
{
    server s = {0};
    got g;
    bc_fcgi_client *c;

    s.steps[0].reply = *reply;
    s.nsteps = 1;
    server_start(&s);
    c = client(&s, 1, 60000);
    ck_assert_int_eq(request(c, "GET", &g), want);
    ck_assert_str_eq(g.out, want_out);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    ck_assert_str_eq(g.out, ANSWER);
    ck_assert_int_eq(get(&s, &s.conns), want == BC_BACKEND_OK ? 1 : 2);
    bc_fcgi_client_free(c);
    server_stop(&s);
}

START_TEST(test_foreign_stdout_after_output)
{
    bytes b = {.len = 0};

    add_out(&b, 1, "Status: 200 OK\r\n\r\nfirst ");
    add_out(&b, 2, "LEAK");
    add_end(&b, 2, 0);
    add_out(&b, 1, "second");
    add_end(&b, 1, 0);
    /* Our whole answer, none of request 2's bytes. */
    one_reply(&b, BC_BACKEND_UNCLEAN, "Status: 200 OK\r\n\r\nfirst second");
}
END_TEST

START_TEST(test_foreign_before_output)
{
    bytes b = {.len = 0};

    add_out(&b, 2, "Status: 200 OK\r\n\r\nLEAK");
    add_answer(&b);
    one_reply(&b, BC_BACKEND_PROTOCOL, "");
}
END_TEST

START_TEST(test_management_record)
{
    bytes b = {.len = 0};

    add_out(&b, 1, ANSWER);
    add_record(&b, BC_FCGI_GET_VALUES_RESULT, 0, "\x01\x01xy", 4);
    add_end(&b, 1, 0);
    one_reply(&b, BC_BACKEND_UNCLEAN, ANSWER);
}
END_TEST

START_TEST(test_overloaded)
{
    bytes b = {.len = 0};

    add_end(&b, 1, 2);
    one_reply(&b, BC_BACKEND_PROTOCOL, "");
}
END_TEST

START_TEST(test_overloaded_after_output)
{
    bytes b = {.len = 0};

    add_out(&b, 1, ANSWER);
    add_end(&b, 1, 2);
    one_reply(&b, BC_BACKEND_UNCLEAN, ANSWER);
}
END_TEST

START_TEST(test_end_without_output)
{
    bytes b = {.len = 0};

    add_end(&b, 1, 0);
    one_reply(&b, BC_BACKEND_PROTOCOL, "");
}
END_TEST

START_TEST(test_bytes_after_end)
{
    bytes b = {.len = 0};

    add_answer(&b);
    add_end(&b, 1, 0);
    one_reply(&b, BC_BACKEND_UNCLEAN, ANSWER);
}
END_TEST

START_TEST(test_late_stray_end)
{
    /* An END_REQUEST that arrives after the answer, while the connection
     * is idle: the next request must not take it for its own. */
    server s = {0};
    got g;
    bc_fcgi_client *c;

    add_answer(&s.steps[0].reply);
    add_end(&s.steps[0].late, 1, 0);
    s.nsteps = 1;
    server_start(&s);
    c = client(&s, 1, 60000);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    pthread_mutex_lock(&s.lock);
    s.late_go = 1;
    pthread_cond_broadcast(&s.cond);
    pthread_mutex_unlock(&s.lock);
    ck_assert_int_eq(wait_for(&s, &s.late_done, 1), 1);
    ck_assert_int_eq(request(c, "POST", &g), BC_BACKEND_OK);
    ck_assert_str_eq(g.out, ANSWER);
    ck_assert_int_eq(get(&s, &s.conns), 2);
    ck_assert_int_eq(get(&s, &s.requests), 2);
    bc_fcgi_client_free(c);
    server_stop(&s);
}
END_TEST

/* The backend reads a request on the kept connection and closes it
 * without a word: the request is sent again only for METHOD GET/HEAD. */
static void silent_on_reuse(const char *method, int resent)
{
    server s = {0};
    got g;
    bc_fcgi_client *c;

    add_answer(&s.steps[0].reply);
    s.steps[1].silent = 1;
    s.nsteps = 2;
    server_start(&s);
    c = client(&s, 1, 60000);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    ck_assert_int_eq(request(c, method, &g),
                     resent ? BC_BACKEND_OK : BC_BACKEND_PROTOCOL);
    ck_assert_int_eq(get(&s, &s.requests), resent ? 3 : 2);
    bc_fcgi_client_free(c);
    server_stop(&s);
}

START_TEST(test_post_not_resent)
{
    silent_on_reuse("POST", 0);
}
END_TEST

START_TEST(test_no_method_not_resent)
{
    silent_on_reuse(NULL, 0);
}
END_TEST

START_TEST(test_two_methods_not_resent)
{
    silent_on_reuse("GET,POST", 0);
}
END_TEST

START_TEST(test_get_resent)
{
    silent_on_reuse("GET", 1);
}
END_TEST

START_TEST(test_head_resent)
{
    silent_on_reuse("HEAD", 1);
}
END_TEST

START_TEST(test_closed_while_idle)
{
    /* The backend closed the kept connection after its answer: a POST
     * then goes out on a new connection, once. */
    server s = {0};
    got g;
    bc_fcgi_client *c;

    add_answer(&s.steps[0].reply);
    s.steps[0].close_after = 1;
    s.nsteps = 1;
    server_start(&s);
    c = client(&s, 1, 60000);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    ck_assert_int_eq(wait_for(&s, &s.closed, 1), 1);
    ck_assert_int_eq(request(c, "POST", &g), BC_BACKEND_OK);
    ck_assert_int_eq(get(&s, &s.requests), 2);
    ck_assert_int_eq(get(&s, &s.conns), 2);
    bc_fcgi_client_free(c);
    server_stop(&s);
}
END_TEST

START_TEST(test_idle_watchdog)
{
    /* With no request after it, a kept connection is still closed once
     * idle for keepalive_timeout_ms: the backend sees EOF. */
    server s = {0};
    got g;
    bc_fcgi_client *c;

    server_start(&s);
    c = client(&s, 1, 50);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    ck_assert_int_eq(wait_for(&s, &s.closed, 1), 1);
    ck_assert_int_eq(request(c, "POST", &g), BC_BACKEND_OK);
    ck_assert_int_eq(get(&s, &s.conns), 2);
    /* And again: the watchdog follows every parked connection. */
    ck_assert_int_eq(wait_for(&s, &s.closed, 2), 2);
    bc_fcgi_client_free(c);
    server_stop(&s);
}
END_TEST

START_TEST(test_close)
{
    server s = {0};
    got g;
    bc_fcgi_client *c;

    server_start(&s);
    c = client(&s, 1, 60000);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    bc_fcgi_client_close(c);
    ck_assert_int_eq(wait_for(&s, &s.closed, 1), 1);
    ck_assert_int_eq(request(c, "GET", &g), BC_BACKEND_OK);
    ck_assert_int_eq(get(&s, &s.conns), 2);
    bc_fcgi_client_free(c);
    server_stop(&s);
}
END_TEST

Suite *fcgi_client_suite(void)
{
    Suite *s = suite_create("fcgi_client");
    TCase *tc = tcase_create("client");

    tcase_add_test(tc, test_keepalive_reuses);
    tcase_add_test(tc, test_no_keepalive_closes);
    tcase_add_test(tc, test_foreign_stdout_after_output);
    tcase_add_test(tc, test_foreign_before_output);
    tcase_add_test(tc, test_management_record);
    tcase_add_test(tc, test_overloaded);
    tcase_add_test(tc, test_overloaded_after_output);
    tcase_add_test(tc, test_end_without_output);
    tcase_add_test(tc, test_bytes_after_end);
    tcase_add_test(tc, test_late_stray_end);
    tcase_add_test(tc, test_post_not_resent);
    tcase_add_test(tc, test_no_method_not_resent);
    tcase_add_test(tc, test_two_methods_not_resent);
    tcase_add_test(tc, test_get_resent);
    tcase_add_test(tc, test_head_resent);
    tcase_add_test(tc, test_closed_while_idle);
    tcase_add_test(tc, test_idle_watchdog);
    tcase_add_test(tc, test_close);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(fcgi_client_suite)
