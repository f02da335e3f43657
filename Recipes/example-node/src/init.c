/* init: a minimal PID 1 for EnclaveKit's example node, written for this repository.
 *
 * It expects the layout of nitro-cli's app ramdisk, which EnclaveKit also uses for the TDX and
 * SEV-SNP initrd:
 *   /rootfs/   the node's root filesystem
 *   /cmd       the command, one argument per line
 *   /env       its environment, one NAME=VALUE per line
 * and, on Nitro, the bootstrap ramdisk's optional /nsm.ko (the Nitro Secure Module driver).
 *
 * Steps: mount /proc, /sys, /dev (devtmpfs) and /tmp, and bind them into /rootfs; load /nsm.ko if
 * present; bring up the loopback interface; tell the Nitro hypervisor the enclave booted (one byte 0xB7
 * to vsock CID 3 port 9000, answered with the same byte; skipped where there is no vsock);
 * chroot("/rootfs"), chdir("/"); fork and exec the command; reap every child; when the command exits,
 * sync and power off (reboot(RB_POWER_OFF)). Any failure before the command starts is printed on the
 * console and also powers off, so a broken image stops instead of hanging or panicking.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
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

#include <linux/vm_sockets.h> /* after sys/socket.h: it uses struct sockaddr */

#define MAX_FILE (64 * 1024) /* /cmd and /env */
#define MAX_ITEMS 256        /* arguments, environment entries */

static void power_off(void)
{
    sync();
    reboot(RB_POWER_OFF);
    /* Not PID 1 (a test run), or the kernel refused: nothing else to do. */
    _exit(1);
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("init: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    power_off();
}

/* The console is fd 0-2 when the kernel found /dev/console in the initramfs; reopen it otherwise. */
static void ensure_console(void)
{
    if (fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0)
        return;
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return;
    for (int i = 0; i < 3; i++)
        if (fcntl(i, F_GETFD) < 0)
            dup2(fd, i);
    if (fd > 2)
        close(fd);
}

static void mount_fs(const char *source, const char *target, const char *type, unsigned long flags,
                     const char *data)
{
    if (mkdir(target, 0755) < 0 && errno != EEXIST)
        die("mkdir %s: %s", target, strerror(errno));
    if (mount(source, target, type, flags, data) < 0 && errno != EBUSY)
        die("mount %s on %s: %s", type ? type : source, target, strerror(errno));
}

/* Reads a whole small file into a NUL-terminated buffer; NULL with errno when it cannot. */
static char *read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = malloc(MAX_FILE + 1);
    size_t len = 0;
    if (buf == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, MAX_FILE + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            free(buf);
            errno = saved;
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > MAX_FILE) {
            close(fd);
            free(buf);
            errno = EFBIG;
            return NULL;
        }
    }
    close(fd);
    buf[len] = 0;
    *size = len;
    return buf;
}

/* Splits a file into its lines (the last newline optional) as a NULL-terminated vector. */
static char **split_lines(const char *path, int required)
{
    static char *none[1] = {NULL};
    size_t size = 0;
    char *text = read_file(path, &size);
    if (text == NULL) {
        if (!required && errno == ENOENT)
            return none;
        die("cannot read %s: %s", path, strerror(errno));
    }
    if (memchr(text, 0, size) != NULL)
        die("%s holds a NUL byte", path);
    char **items = calloc(MAX_ITEMS + 1, sizeof *items);
    if (items == NULL)
        die("out of memory");
    size_t count = 0;
    char *p = text;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        if (count == MAX_ITEMS)
            die("%s has more than %d lines", path, MAX_ITEMS);
        items[count++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    return items;
}

static void load_nsm(void)
{
    int fd = open("/nsm.ko", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
        fprintf(stderr, "init: loading /nsm.ko: %s (continuing without it)\n", strerror(errno));
    close(fd);
}

static void loopback_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ioctl(fd, SIOCSIFADDR, &ifr);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
}

/* The Nitro "enclave ready" heartbeat; silently skipped without vsock (QEMU, TDX, SNP). */
static void nitro_heartbeat(void)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_vm a;
    memset(&a, 0, sizeof a);
    a.svm_family = AF_VSOCK;
    a.svm_cid = 3; /* the parent EC2 instance, as Nitro numbers it */
    a.svm_port = 9000;
    unsigned char beat = 0xB7;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        if (write(fd, &beat, 1) != 1 || read(fd, &beat, 1) != 1 || beat != 0xB7)
            fprintf(stderr, "init: the Nitro heartbeat got no answer\n");
    }
    close(fd);
}

/* execve with a PATH search (from the command's environment) for a name without '/'. */
static void exec_command(char **argv, char **envp)
{
    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, envp);
        return;
    }
    const char *path = "/usr/local/bin:/usr/bin:/bin";
    for (char **e = envp; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    char full[4096];
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        if (n + 1 + strlen(argv[0]) < sizeof full) {
            memcpy(full, path, n);
            full[n] = '/';
            strcpy(full + n + 1, argv[0]);
            execve(full, argv, envp);
        }
        path += n + (colon ? 1 : 0);
    }
    errno = ENOENT;
}

int main(void)
{
    ensure_console();
    mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    ensure_console();
    load_nsm();
    loopback_up();
    nitro_heartbeat();

    char **argv = split_lines("/cmd", 1);
    char **envp = split_lines("/env", 0);
    if (argv[0] == NULL || argv[0][0] == 0)
        die("/cmd is empty: it must hold the command, one argument per line");

    struct stat st;
    if (stat("/rootfs", &st) < 0 || !S_ISDIR(st.st_mode))
        die("/rootfs is missing: the ramdisk must hold the node's root filesystem there");
    static const char *const binds[] = {"/proc", "/sys", "/dev", "/tmp"};
    for (size_t i = 0; i < sizeof binds / sizeof binds[0]; i++) {
        char target[64];
        snprintf(target, sizeof target, "/rootfs%s", binds[i]);
        mount_fs(binds[i], target, NULL, MS_BIND | MS_REC, NULL);
    }
    if (chroot("/rootfs") < 0 || chdir("/") < 0)
        die("chroot /rootfs: %s", strerror(errno));

    pid_t child = fork();
    if (child < 0)
        die("fork: %s", strerror(errno));
    if (child == 0) {
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        exec_command(argv, envp);
        fprintf(stderr, "init: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0) {
            fprintf(stderr, "init: waitpid: %s\n", strerror(errno));
            break;
        }
        if (pid != child)
            continue; /* an orphan, reaped */
        if (WIFEXITED(status))
            fprintf(stderr, "init: %s exited with status %d, powering off\n", argv[0], WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            fprintf(stderr, "init: %s was killed by signal %d, powering off\n", argv[0], WTERMSIG(status));
        else
            continue;
        break;
    }
    power_off();
    return 0;
}
