/* main.c: the bocache program: options, configuration, listening socket,
 * signals. */
#include "config.h"

#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "bocache/config.h"
#include "child.h"
#include "gateway.h"
#include "log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/bocache.conf"
#define LISTEN_BACKLOG 1024

typedef struct options {
    const char *config;
    const char *listen;
    int test_only;
    char **child_argv; /* the command after --, or NULL */
} options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: bocache [-c FILE] [-l ADDR] [-t] [-V] [-- BACKEND_CMD "
            "[ARG]...]\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -l ADDR  listen on unix:/path or host:port instead of fd 0\n"
            "  -t       check the configuration and exit\n"
            "  -V       print the version and exit\n",
            DEFAULT_CONFIG);
}

/* Returns -1 to exit 0 (help, version), 1 on a usage error, 0 to run. */
static int parse_options(int argc, char **argv, options *o)
{
    int c;
    o->config = DEFAULT_CONFIG;
    while ((c = getopt(argc, argv, "+c:l:tVh")) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 't':
            o->test_only = 1;
            break;
        case 'V':
            printf("bocache %s\n", PACKAGE_VERSION);
            return -1;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        /* getopt stops at "--" and leaves what follows. */
        if (strcmp(argv[optind - 1], "--") != 0) {
            usage(stderr);
            return 1;
        }
        o->child_argv = &argv[optind];
    }
    return 0;
}

/* Opens the listening socket named by ADDR, or checks that fd 0 is one. */
static int listen_socket(const char *addr)
{
    if (!addr) {
        int type;
        socklen_t len = sizeof type;
        if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
            fprintf(stderr, "bocache: fd 0 is not a listening socket: run "
                            "it under spawn-fcgi or give -l ADDR\n");
            return -1;
        }
        return 0;
    }
    bc_address a;
    char err[256];
    if (bc_address_parse(addr, &a, err, sizeof err) < 0) {
        fprintf(stderr, "bocache: -l %s\n", err);
        return -1;
    }
    /* libfcgi takes a plain path for unix sockets, host:port otherwise. */
    int fd = FCGX_OpenSocket(a.is_unix ? a.path : addr, LISTEN_BACKLOG);
    if (fd < 0)
        fprintf(stderr, "bocache: cannot listen on %s\n", addr);
    return fd;
}

/* Without a child, a configuration is usable only if it names a backend. */
static int has_backend(const bc_config *cfg, const bc_child *child)
{
    return child || (cfg->backend.address && cfg->backend.address[0]);
}

static void reload(bc_gateway *g, const bc_child *child, const char *path)
{
    char err[512];
    bc_config *cfg = bc_config_load(path, err, sizeof err);
    if (!cfg) {
        bc_log(BC_LOG_ERROR, "reload failed, old configuration stays: %s", err);
        return;
    }
    if (!has_backend(cfg, child)) {
        bc_log(BC_LOG_ERROR,
               "reload failed, old configuration stays: %s: no "
               "backend.address and no backend command after --",
               path);
        bc_config_free(cfg);
        return;
    }
    bc_log_setup(cfg->log_level, cfg->log_syslog, "bocache");
    bc_gateway_reload(g, cfg);
    bc_log(BC_LOG_INFO, "configuration %s reloaded", path);
}

/* Waits for the next signal in SET, or until the child backend's next
 * restart is due. Returns the signal, or 0 on time-out. */
static int next_signal(const sigset_t *set, const bc_child *child)
{
    int ms = child ? bc_child_timeout_ms(child) : -1;
    int sig;
    if (ms < 0) {
        sig = sigwaitinfo(set, NULL);
    } else {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        sig = sigtimedwait(set, NULL, &ts);
    }
    return sig < 0 ? 0 : sig;
}

/* Waits for signals until one says stop. Workers never see these signals:
 * they are blocked everywhere and taken here. Restarts of the child backend
 * happen here too, in the thread that started it. */
static void signal_loop(bc_gateway *g, bc_child *child, const char *path,
                        const sigset_t *set)
{
    for (;;) {
        int sig = next_signal(set, child);
        if (sig == SIGCHLD && child)
            bc_child_on_sigchld(child);
        if (child)
            bc_child_tick(child);
        if (sig == SIGHUP)
            reload(g, child, path);
        if (sig == SIGTERM || sig == SIGINT) {
            bc_log(BC_LOG_INFO, "%s received; finishing requests in flight",
                   strsignal(sig));
            return;
        }
    }
}

/* Creates and starts the child backend when a command follows --. Returns
 * 0 with *OUT NULL when there is none, -1 after printing why. */
static int start_child(const options *o, const bc_config *cfg, bc_child **out)
{
    char err[512];
    *out = NULL;
    if (!o->child_argv)
        return 0;
    if (cfg->backend.address)
        bc_log(BC_LOG_INFO,
               "backend.address %s is not used: the backend is "
               "the command after --",
               cfg->backend.address);
    bc_child *c = bc_child_new(o->child_argv, cfg->workers, err, sizeof err);
    if (!c || bc_child_start(c, err, sizeof err) < 0) {
        fprintf(stderr, "bocache: backend: %s\n", err);
        bc_child_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Runs the gateway on FD until SIGTERM or SIGINT; owns CFG and CHILD. */
static int serve(bc_config *cfg, int fd, bc_child *child, const char *path,
                 const sigset_t *set)
{
    char err[512];
    const char *addr = child ? bc_child_address(child) : NULL;
    bc_gateway *g = bc_gateway_new(cfg, fd, addr, err, sizeof err);
    if (!g) {
        fprintf(stderr, "bocache: %s\n", err);
        bc_config_free(cfg);
        bc_child_free(child);
        return 1;
    }
    int rc = 0;
    if (bc_gateway_start(g, err, sizeof err) < 0) {
        fprintf(stderr, "bocache: %s\n", err);
        rc = 1;
    } else {
        bc_log(BC_LOG_INFO, "bocache %s started: %d workers, backend %s",
               PACKAGE_VERSION, bc_gateway_config(g)->workers,
               addr ? addr : bc_gateway_config(g)->backend.address);
        signal_loop(g, child, path, set);
    }
    bc_gateway_stop(g);
    bc_gateway_free(g);
    if (child)
        bc_child_stop(child, BC_CHILD_STOP_GRACE_MS);
    bc_child_free(child);
    if (rc == 0)
        bc_log(BC_LOG_INFO, "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    options o = {0};
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : 1;
    char err[512];
    bc_config *cfg = bc_config_load(o.config, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (o.test_only) {
        printf("configuration OK\n");
        bc_config_free(cfg);
        return 0;
    }
    if (!o.child_argv && !has_backend(cfg, NULL)) {
        fprintf(stderr,
                "bocache: %s: set backend.address, or give the "
                "backend command after --\n",
                o.config);
        bc_config_free(cfg);
        return 1;
    }
    bc_log_setup(cfg->log_level, cfg->log_syslog, "bocache");
    sigset_t set;
    /* Before any thread or child exists, so all inherit the mask. */
    block_signals(&set);
    int fd = listen_socket(o.listen);
    bc_child *child = NULL;
    if (fd < 0 || start_child(&o, cfg, &child) < 0) {
        bc_config_free(cfg);
        return 1;
    }
    return serve(cfg, fd, child, o.config, &set);
}
