/* main.c: the bocache program: options, configuration, listening socket,
 * signals. */
#include "config.h"

#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bocache/address.h"
#include "bocache/config.h"
#include "bocache/log.h"
#include "bocache/responder.h"

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

static void reload(bc_responder *r, const char *path)
{
    char err[512];
    bc_config *cfg = bc_config_load(path, err, sizeof err);
    if (!cfg) {
        bc_log(BC_LOG_ERROR, "reload failed, old configuration stays: %s",
               err);
        return;
    }
    bc_log_setup(cfg->log_level, cfg->log_syslog, "bocache");
    bc_responder_reload(r, cfg);
    bc_log(BC_LOG_INFO, "configuration %s reloaded", path);
}

/* Waits for signals until one says stop. Workers never see these signals:
 * they are blocked everywhere and taken here with sigwait. */
static void signal_loop(bc_responder *r, const char *path,
                        const sigset_t *set)
{
    for (;;) {
        int sig;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(r, path);
            continue;
        }
        bc_log(BC_LOG_INFO, "%s received; finishing requests in flight",
               strsignal(sig));
        return;
    }
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
    if (o.child_argv) {
        fprintf(stderr, "bocache: starting a backend after -- is not "
                        "supported in this version; run the application "
                        "separately and set backend.address\n");
        bc_config_free(cfg);
        return 1;
    }
    bc_log_setup(cfg->log_level, cfg->log_syslog, "bocache");
    int fd = listen_socket(o.listen);
    if (fd < 0) {
        bc_config_free(cfg);
        return 1;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    bc_responder *r = bc_responder_new(cfg, fd, NULL, err, sizeof err);
    if (!r) {
        fprintf(stderr, "bocache: %s\n", err);
        bc_config_free(cfg);
        return 1;
    }
    if (bc_responder_start(r, err, sizeof err) < 0) {
        fprintf(stderr, "bocache: %s\n", err);
        bc_responder_stop(r);
        bc_responder_free(r);
        return 1;
    }
    bc_log(BC_LOG_INFO, "bocache %s started: %d workers, backend %s",
           PACKAGE_VERSION, bc_responder_config(r)->workers,
           bc_responder_config(r)->backend.address);
    signal_loop(r, o.config, &set);
    bc_responder_stop(r);
    bc_responder_free(r);
    bc_log(BC_LOG_INFO, "stopped");
    return 0;
}
