/* address.c: "unix:/path" and "host:port" socket addresses. */
#include "address.h"

#include <arpa/inet.h>
#include <ctype.h>
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

/* A port is 1..65535 written in decimal digits only, so that "80x" or
 * "+80" are not silently read as 80. Returns it, or 0. */
static int port_number(const char *s)
{
    int port = 0;
    if (*s == '\0' || strlen(s) > 5)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        port = port * 10 + (*s - '0');
    }
    return port <= 65535 ? port : 0;
}

/* A host is a bracketed IPv6 address or a name / IPv4 address made of the
 * characters host names use; resolving it is the connecting module's job.
 * 255 bytes is the longest DNS name, and what bc_address holds. */
static int valid_host(const char *h, size_t len)
{
    char buf[INET6_ADDRSTRLEN + 2];
    struct in6_addr a6;
    if (len == 0 || len >= sizeof((bc_address *)0)->host)
        return 0;
    if (h[0] == '[') {
        if (len < 3 || h[len - 1] != ']' || len - 2 >= sizeof buf)
            return 0;
        memcpy(buf, h + 1, len - 2);
        buf[len - 2] = '\0';
        return inet_pton(AF_INET6, buf, &a6) == 1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != '_')
            return 0;
    }
    return 1;
}

const char *bc_address_check(const char *text)
{
    if (strncmp(text, "unix:", 5) == 0) {
        if (text[5] != '/')
            return "must be \"unix:/absolute/path\" (the path must be "
                   "absolute)";
        /* The path must fit sockaddr_un with its terminating NUL. */
        if (strlen(text + 5) >= sizeof((bc_address *)0)->path)
            return "has a unix socket path that is too long";
        return NULL;
    }
    const char *colon = strrchr(text, ':');
    if (colon == NULL || !valid_host(text, (size_t)(colon - text)))
        return "must be \"unix:/absolute/path\" or \"host:port\"";
    if (port_number(colon + 1) == 0)
        return "must end in a port between 1 and 65535";
    return NULL;
}

int bc_address_parse(const char *text, bc_address *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *why = bc_address_check(text);
    if (why) {
        snprintf(err, errlen, "'%s' %s", text, why);
        return -1;
    }
    if (strncmp(text, "unix:", 5) == 0) {
        out->is_unix = 1;
        strcpy(out->path, text + 5);
        return 0;
    }
    const char *colon = strrchr(text, ':');
    size_t n = (size_t)(colon - text);
    /* "[::1]:6379": the brackets only delimit the host. */
    if (text[0] == '[')
        memcpy(out->host, text + 1, n - 2);
    else
        memcpy(out->host, text, n);
    out->port = port_number(colon + 1);
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
