/* example-node: a tiny HTTP/1.0 service, the workload of EnclaveKit's example recipe.
 *
 * It hashes its configuration file (/etc/node.conf) with SHA-256 (sha256.c, written here), prints
 *   example-node 0.2.0 config_sha256=<hex> listening
 * and answers `GET /` with
 *   {"name":"example-node","version":"0.2.0","config_sha256":"<hex>"}
 * on TCP port 8080 and, when the kernel has AF_VSOCK (a Nitro enclave), on vsock port 5005.
 * One connection at a time, each bounded by a 5 s socket timeout; HTTP/1.0, Connection: close.
 *
 *   node [--config PATH] [--port N] [--vsock-port N]   serve (port 0 turns a listener off)
 *   node --sha256 FILE...                              print sha256sum-style lines (used to test sha256.c)
 */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/vm_sockets.h> /* after sys/socket.h: it uses struct sockaddr */

#define NODE_NAME "example-node"
#define NODE_VERSION "0.2.0"

static char config_hex[65];

/* Hashes a whole file; returns 0, or -1 with errno set. */
static int hash_file(const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct sha256 s;
    unsigned char buf[16384];
    sha256_init(&s);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        sha256_update(&s, buf, (size_t)n);
    }
    close(fd);
    unsigned char digest[32];
    sha256_final(&s, digest);
    sha256_hex(digest, hex);
    return 0;
}

static int parse_port(const char *text, const char *option)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (*text == 0 || *end != 0 || v < 0 || v > 65535) {
        fprintf(stderr, NODE_NAME ": %s expects a port number 0-65535, got '%s'\n", option, text);
        exit(2);
    }
    return (int)v;
}

static int listen_tcp(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Returns -1 when the kernel has no vsock (no module, not a VM): the node then serves TCP only. */
static int listen_vsock(int port)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_vm a;
    memset(&a, 0, sizeof a);
    a.svm_family = AF_VSOCK;
    a.svm_port = (unsigned int)port;
    a.svm_cid = VMADDR_CID_ANY;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, const char *status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     status[0] == '2' ? "application/json" : "text/plain", strlen(body));
    if (n > 0 && (size_t)n < sizeof head)
        write_all(fd, head, (size_t)n);
    write_all(fd, body, strlen(body));
}

/* Reads the request head (up to 4 KiB), answers it and closes the connection. */
static void serve(int fd)
{
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[4097];
    size_t len = 0;
    while (len < sizeof req - 1) {
        ssize_t n = read(fd, req + len, sizeof req - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[len] = 0;
    char *line_end = strpbrk(req, "\r\n");
    if (len == 0 || line_end == NULL) {
        respond(fd, "400 Bad Request", "bad request\n");
    } else {
        *line_end = 0;
        char *target = strchr(req, ' ');
        char *version = target ? strchr(target + 1, ' ') : NULL;
        if (target == NULL || version == NULL || strncmp(version + 1, "HTTP/", 5) != 0) {
            respond(fd, "400 Bad Request", "bad request\n");
        } else {
            *target++ = 0;
            *version = 0;
            if (strcmp(req, "GET") != 0) {
                respond(fd, "405 Method Not Allowed", "only GET\n");
            } else if (strcmp(target, "/") != 0) {
                respond(fd, "404 Not Found", "not found\n");
            } else {
                char body[160];
                snprintf(body, sizeof body,
                         "{\"name\":\"" NODE_NAME "\",\"version\":\"" NODE_VERSION "\",\"config_sha256\":\"%s\"}\n",
                         config_hex);
                respond(fd, "200 OK", body);
            }
        }
    }
    close(fd);
}

int main(int argc, char **argv)
{
    const char *config = "/etc/node.conf";
    int port = 8080, vsock_port = 5005;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sha256") == 0) {
            int status = 0;
            for (int j = i + 1; j < argc; j++) {
                char hex[65];
                if (hash_file(argv[j], hex) < 0) {
                    fprintf(stderr, NODE_NAME ": %s: %s\n", argv[j], strerror(errno));
                    status = 1;
                } else {
                    printf("%s  %s\n", hex, argv[j]);
                }
            }
            return status;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = parse_port(argv[++i], "--port");
        } else if (strcmp(argv[i], "--vsock-port") == 0 && i + 1 < argc) {
            vsock_port = parse_port(argv[++i], "--vsock-port");
        } else if (strcmp(argv[i], "--version") == 0) {
            puts(NODE_NAME " " NODE_VERSION);
            return 0;
        } else {
            fprintf(stderr,
                    "usage: node [--config PATH] [--port N] [--vsock-port N]\n"
                    "       node --sha256 FILE...\n");
            return 2;
        }
    }
    if (hash_file(config, config_hex) < 0) {
        fprintf(stderr, NODE_NAME ": cannot read the configuration %s: %s\n", config, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct pollfd fds[2];
    int count = 0;
    if (port != 0) {
        int fd = listen_tcp(port);
        if (fd < 0) {
            fprintf(stderr, NODE_NAME ": cannot listen on TCP port %d: %s\n", port, strerror(errno));
            return 1;
        }
        fds[count++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    if (vsock_port != 0) {
        int fd = listen_vsock(vsock_port);
        if (fd >= 0)
            fds[count++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    if (count == 0) {
        fprintf(stderr, NODE_NAME ": no listener (TCP turned off and no vsock)\n");
        return 1;
    }
    printf(NODE_NAME " " NODE_VERSION " config_sha256=%s listening\n", config_hex);
    fflush(stdout);
    for (;;) {
        if (poll(fds, (nfds_t)count, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, NODE_NAME ": poll: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 0; i < count; i++) {
            if (!(fds[i].revents & POLLIN))
                continue;
            int c = accept4(fds[i].fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0)
                serve(c);
        }
    }
}
