/* pid1: the PID 1 of EnclaveKit's python-node, written for this repository.
 *
 * Ramdisk layout (nitro-cli's app ramdisk, also EnclaveKit's TDX/SEV-SNP initrd):
 *   /rootfs/   the node's root filesystem     /cmd   argv, one per line     /env   NAME=VALUE lines
 *
 * Boot sequence, in this order:
 *   1. mount proc, sysfs, devtmpfs and two tmpfs (/tmp, /run) directly inside /rootfs;
 *   2. read /cmd and /env (they live outside the rootfs), then chroot("/rootfs");
 *   3. load the kernel modules the rootfs lists in /etc/init-modules: one path per line (inside the
 *      rootfs), in load order; '#' starts a comment; .xz/.zst/.gz files are handed to the kernel
 *      compressed (finit_module with MODULE_INIT_COMPRESSED_FILE). A module that is missing or
 *      refused is a warning: on Nitro there is no virtio NIC, and the node still starts;
 *   4. bring up lo, and configure one interface from the kernel command line's
 *      ip=CLIENT:SERVER:GATEWAY:NETMASK:HOSTNAME:DEVICE:AUTOCONF (nfsroot.rst syntax; AUTOCONF must be
 *      off, none or static, SERVER is ignored): address, netmask, up, default route, hostname. A
 *      missing device is a warning;
 *   5. send the Nitro "enclave booted" heartbeat (0xB7 to vsock CID 3 port 9000; skipped without vsock);
 *   6. fork and exec the command, reap every process, and power off when the command ends.
 * An error in steps 1-2 is printed on the console and powers off: a broken image stops, never hangs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4 /* linux/module.h, Linux 5.17+ */
#endif

enum { LIST_LIMIT = 1024, LINE_LIMIT = 4096 };

/* ---- console messages ------------------------------------------------------------------------- */

static void say(const char *level, const char *fmt, va_list ap)
{
    fprintf(stderr, "pid1: %s", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("warning: ", fmt, ap);
    va_end(ap);
}

static _Noreturn void halt_system(void)
{
    sync();
    reboot(RB_POWER_OFF);
    _exit(1); /* not PID 1 (a test run), or the kernel refused */
}

static _Noreturn void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("fatal: ", fmt, ap);
    va_end(ap);
    halt_system();
}

/* ---- 1. file systems ------------------------------------------------------------------------ */

struct fs {
    const char *where, *type, *options;
    unsigned long flags;
};

static const struct fs filesystems[] = {
    {"/rootfs/dev", "devtmpfs", "mode=0755", MS_NOSUID},
    {"/rootfs/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC},
    {"/rootfs/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC},
    {"/rootfs/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV},
    {"/rootfs/run", "tmpfs", "mode=0755", MS_NOSUID | MS_NODEV},
};

/* Without /dev/console in the ramdisk the kernel started us with no stdio: take the console from the
 * devtmpfs just mounted at `dev`, so that later messages are seen. */
static void take_console(const char *dev)
{
    char path[64];
    snprintf(path, sizeof path, "%s/console", dev);
    if (fcntl(2, F_GETFL) >= 0)
        return;
    int console = open(path, O_RDWR | O_NOCTTY);
    for (int fd = 0; console >= 0 && fd <= 2; fd++)
        if (fcntl(fd, F_GETFL) < 0)
            dup2(console, fd);
    if (console > 2)
        close(console);
}

static void mount_all(void)
{
    struct stat st;
    if (stat("/rootfs", &st) != 0 || !S_ISDIR(st.st_mode))
        fatal("no /rootfs directory: the ramdisk must carry the node's root filesystem there");
    for (size_t i = 0; i < sizeof filesystems / sizeof filesystems[0]; i++) {
        const struct fs *f = &filesystems[i];
        if (mkdir(f->where, 0755) != 0 && errno != EEXIST)
            fatal("cannot create %s: %s", f->where, strerror(errno));
        if (mount(f->type, f->where, f->type, f->flags, f->options) != 0)
            fatal("cannot mount %s on %s: %s", f->type, f->where, strerror(errno));
        if (strcmp(f->type, "devtmpfs") == 0)
            take_console(f->where);
    }
}

/* ---- 2. /cmd and /env --------------------------------------------------------------------------- */

/* The lines of a text file as a NULL-terminated vector (no trailing newlines). A missing optional file
 * is an empty vector; anything else wrong is fatal. */
static char **load_list(const char *path, bool optional)
{
    FILE *in = fopen(path, "re");
    if (in == NULL) {
        if (optional && errno == ENOENT)
            return calloc(1, sizeof(char *));
        fatal("cannot open %s: %s", path, strerror(errno));
    }
    char **list = calloc(LIST_LIMIT + 1, sizeof(char *));
    size_t used = 0, cap = 0;
    char *line = NULL;
    ssize_t len;
    if (list == NULL)
        fatal("out of memory reading %s", path);
    while ((len = getline(&line, &cap, in)) >= 0) {
        if ((size_t)len != strlen(line))
            fatal("%s: line %zu holds a NUL byte", path, used + 1);
        if (len > 0 && line[len - 1] == '\n')
            line[len - 1] = '\0';
        if (used == LIST_LIMIT)
            fatal("%s: more than %d lines", path, LIST_LIMIT);
        list[used++] = line;
        line = NULL;
        cap = 0;
    }
    free(line);
    if (ferror(in))
        fatal("cannot read %s", path);
    fclose(in);
    return list;
}

/* ---- 3. kernel modules ------------------------------------------------------------------------ */

static bool compressed(const char *path)
{
    static const char *const suffixes[] = {".xz", ".zst", ".gz"};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t s = strlen(suffixes[i]);
        if (n > s && strcmp(path + n - s, suffixes[i]) == 0)
            return true;
    }
    return false;
}

static void load_modules(const char *list_path)
{
    FILE *list = fopen(list_path, "re");
    if (list == NULL)
        return; /* no modules to load */
    char entry[LINE_LIMIT];
    while (fgets(entry, sizeof entry, list) != NULL) {
        entry[strcspn(entry, "#\r\n")] = '\0';
        char *path = entry + strspn(entry, " \t");
        for (size_t n = strlen(path); n > 0 && (path[n - 1] == ' ' || path[n - 1] == '\t'); n--)
            path[n - 1] = '\0';
        if (*path == '\0')
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            warn("module %s: %s (skipped)", path, strerror(errno));
            continue;
        }
        int flags = compressed(path) ? MODULE_INIT_COMPRESSED_FILE : 0;
        if (syscall(SYS_finit_module, fd, "", flags) != 0 && errno != EEXIST)
            warn("module %s: the kernel refused it: %s (skipped)", path, strerror(errno));
        close(fd);
    }
    fclose(list);
}

/* ---- 4. network --------------------------------------------------------------------------------- */

struct ipconf {
    char client[64], gateway[64], netmask[64], hostname[65], device[IFNAMSIZ], autoconf[16];
};

/* Copies field `index` (0-based, ':'-separated, empty fields kept) of `spec` into `out`. */
static void ip_field(const char *spec, int index, char *out, size_t size)
{
    for (int i = 0; i < index && spec != NULL; i++) {
        spec = strchr(spec, ':');
        if (spec != NULL)
            spec++;
    }
    size_t n = spec == NULL ? 0 : strcspn(spec, ":");
    if (n >= size)
        n = 0; /* too long to be valid: treat as absent */
    if (n > 0)
        memcpy(out, spec, n);
    out[n] = '\0';
}

/* Finds the last ip= option on the kernel command line; false when there is none. */
static bool read_ipconf(struct ipconf *c)
{
    char cmdline[LINE_LIMIT];
    FILE *in = fopen("/proc/cmdline", "re");
    if (in == NULL)
        return false;
    size_t got = fread(cmdline, 1, sizeof cmdline - 1, in);
    fclose(in);
    cmdline[got] = '\0';
    const char *spec = NULL;
    for (char *word = strtok(cmdline, " \n"); word != NULL; word = strtok(NULL, " \n"))
        if (strncmp(word, "ip=", 3) == 0)
            spec = word + 3;
    if (spec == NULL)
        return false;
    memset(c, 0, sizeof *c);
    ip_field(spec, 0, c->client, sizeof c->client);
    ip_field(spec, 2, c->gateway, sizeof c->gateway);
    ip_field(spec, 3, c->netmask, sizeof c->netmask);
    ip_field(spec, 4, c->hostname, sizeof c->hostname);
    ip_field(spec, 5, c->device, sizeof c->device);
    ip_field(spec, 6, c->autoconf, sizeof c->autoconf);
    return true;
}

static bool to_sockaddr(const char *text, struct sockaddr *out)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, text, &sin.sin_addr) != 1)
        return false;
    memcpy(out, &sin, sizeof sin);
    return true;
}

/* One SIOCS* call on interface `dev`; `addr` (dotted quad) or `flags` give the value. */
static int if_ioctl(int sock, const char *dev, unsigned long request, const char *addr, short flags)
{
    struct ifreq req;
    memset(&req, 0, sizeof req);
    snprintf(req.ifr_name, sizeof req.ifr_name, "%s", dev);
    if (addr != NULL && !to_sockaddr(addr, &req.ifr_addr)) {
        errno = EINVAL;
        return -1;
    }
    if (request == SIOCSIFFLAGS) {
        if (ioctl(sock, SIOCGIFFLAGS, &req) != 0)
            return -1;
        req.ifr_flags |= flags;
    }
    return ioctl(sock, request, &req);
}

static void configure_network(void)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        warn("no IPv4 socket (%s): networking not configured", strerror(errno));
        return;
    }
    if (if_ioctl(sock, "lo", SIOCSIFADDR, "127.0.0.1", 0) != 0 || if_ioctl(sock, "lo", SIOCSIFFLAGS, NULL, IFF_UP) != 0)
        warn("loopback: %s", strerror(errno));

    struct ipconf c;
    if (!read_ipconf(&c)) {
        close(sock);
        return;
    }
    const char *dev = c.device[0] ? c.device : "eth0";
    if (c.autoconf[0] && strcmp(c.autoconf, "off") && strcmp(c.autoconf, "none") && strcmp(c.autoconf, "static"))
        warn("ip=: autoconf '%s' is not supported (only off); using the static fields", c.autoconf);
    if (c.client[0] == '\0') {
        warn("ip=: no client address: %s not configured", dev);
    } else if (if_nametoindex(dev) == 0) {
        warn("ip=: no network device %s (%s): continuing without it", dev, strerror(errno));
    } else if (if_ioctl(sock, dev, SIOCSIFADDR, c.client, 0) != 0 ||
               (c.netmask[0] && if_ioctl(sock, dev, SIOCSIFNETMASK, c.netmask, 0) != 0) ||
               if_ioctl(sock, dev, SIOCSIFFLAGS, NULL, IFF_UP | IFF_RUNNING) != 0) {
        warn("ip=: configuring %s as %s/%s: %s", dev, c.client, c.netmask, strerror(errno));
    } else if (c.gateway[0]) {
        struct rtentry route;
        memset(&route, 0, sizeof route);
        route.rt_flags = RTF_UP | RTF_GATEWAY;
        route.rt_dev = (char *)dev;
        if (!to_sockaddr("0.0.0.0", &route.rt_dst) || !to_sockaddr("0.0.0.0", &route.rt_genmask) ||
            !to_sockaddr(c.gateway, &route.rt_gateway) || ioctl(sock, SIOCADDRT, &route) != 0)
            warn("ip=: default route via %s: %s", c.gateway, strerror(errno));
    }
    if (c.hostname[0] && sethostname(c.hostname, strlen(c.hostname)) != 0)
        warn("ip=: hostname %s: %s", c.hostname, strerror(errno));
    close(sock);
}

/* ---- 5. Nitro heartbeat ------------------------------------------------------------------------- */

static void nitro_ready(void)
{
    struct sockaddr_vm parent = {.svm_family = AF_VSOCK, .svm_cid = 3, .svm_port = 9000};
    unsigned char byte = 0xB7;
    int sock = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return; /* no vsock: not a Nitro enclave (or a kernel without it) */
    bool answered = connect(sock, (struct sockaddr *)&parent, sizeof parent) == 0 && write(sock, &byte, 1) == 1 &&
                    read(sock, &byte, 1) == 1 && byte == 0xB7;
    if (!answered)
        warn("the Nitro heartbeat got no answer");
    close(sock);
}

/* ---- 6. the command ----------------------------------------------------------------------------- */

static pid_t spawn(char **argv, char **envp)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    setsid();
    /* A bare name is searched in the command's own PATH (execvpe reads the caller's environ). */
    extern char **environ;
    environ = envp;
    execvp(argv[0], argv);
    fprintf(stderr, "pid1: cannot execute %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static void reap_until(pid_t main_pid, const char *name)
{
    for (;;) {
        int status = 0;
        pid_t pid = wait(&status);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0) {
            warn("wait: %s", strerror(errno));
            return;
        }
        if (pid != main_pid)
            continue;
        if (WIFSIGNALED(status))
            fprintf(stderr, "pid1: %s ended by signal %d; powering off\n", name, WTERMSIG(status));
        else
            fprintf(stderr, "pid1: %s exited (status %d); powering off\n", name, WEXITSTATUS(status));
        return;
    }
}

int main(void)
{
    mount_all();
    char **argv = load_list("/cmd", false);
    char **envp = load_list("/env", true);
    if (argv[0] == NULL || *argv[0] == '\0')
        fatal("/cmd holds no command (one argument per line)");
    if (chroot("/rootfs") != 0 || chdir("/") != 0)
        fatal("cannot enter /rootfs: %s", strerror(errno));

    load_modules("/etc/init-modules");
    configure_network();
    nitro_ready();

    pid_t node = spawn(argv, envp);
    if (node < 0)
        fatal("fork: %s", strerror(errno));
    reap_until(node, argv[0]);
    halt_system();
}
