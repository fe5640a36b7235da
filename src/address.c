/* address.c: "unix:/path" and "host:port" socket addresses. */
#include "address.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int bc_address_parse(const char *text, bc_address *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (strncmp(text, "unix:", 5) == 0) {
        const char *path = text + 5;
        if (path[0] != '/' || strlen(path) >= sizeof out->path) {
            snprintf(err, errlen,
                     "'%s': a unix socket address is unix:/absolute/path "
                     "(at most %zu bytes)",
                     text, sizeof out->path - 1);
            return -1;
        }
        out->is_unix = 1;
        strcpy(out->path, path);
        return 0;
    }
    const char *colon = strrchr(text, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == text || colon[1] == '\0' || *end != '\0' ||
        port < 1 || port > 65535 ||
        (size_t)(colon - text) >= sizeof out->host) {
        snprintf(err, errlen,
                 "'%s': expected unix:/path or host:port with a port "
                 "from 1 to 65535",
                 text);
        return -1;
    }
    memcpy(out->host, text, (size_t)(colon - text));
    /* Accept "[::1]:6379" as well as "::1" style hosts in brackets. */
    if (out->host[0] == '[') {
        size_t n = strlen(out->host);
        if (n < 3 || out->host[n - 1] != ']') {
            snprintf(err, errlen, "'%s': unbalanced brackets in host", text);
            return -1;
        }
        memmove(out->host, out->host + 1, n - 2);
        out->host[n - 2] = '\0';
    }
    out->port = (int)port;
    return 0;
}

/* Waits for a non-blocking connect to finish; returns 0 or -1 with errno. */
static int finish_connect(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int n;
    do {
        n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (n < 0)
        return -1;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return 0;
}

static int connect_sockaddr(int family, const struct sockaddr *sa,
                            socklen_t salen, int timeout_ms)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, sa, salen) < 0 &&
        (errno != EINPROGRESS || finish_connect(fd, timeout_ms) < 0)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    if (family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

int bc_address_connect(const bc_address *addr, int timeout_ms)
{
    if (addr->is_unix) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        memcpy(sun.sun_path, addr->path, strlen(addr->path) + 1);
        return connect_sockaddr(AF_UNIX, (struct sockaddr *)&sun, sizeof sun,
                                timeout_ms);
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    char port[8];
    snprintf(port, sizeof port, "%d", addr->port);
    int rc = getaddrinfo(addr->host, port, &hints, &res);
    if (rc != 0) {
        errno = rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_sockaddr(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
                              timeout_ms);
    int saved = errno;
    freeaddrinfo(res);
    errno = saved;
    return fd;
}
