/* probe: one system-level action per invocation, for sbx's integration tests.
 *
 *   probe OP [ARGS...]
 *
 * Prints "ok" (plus any result) or the errno NAME of the failing call on stdout
 * and exits 0, so a test can assert the exact outcome. Exits 2 on bad usage.
 * Every action is a direct system call, so the result is the kernel's answer,
 * not a library's interpretation of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <stddef.h>
#include <linux/io_uring.h>

static const char *errname(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EXDEV: return "EXDEV";
    case ENOENT: return "ENOENT";
    case ENOSYS: return "ENOSYS";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ESRCH: return "ESRCH";
    case EROFS: return "EROFS";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

static int report(long ret) {
    if (ret < 0) printf("%s\n", errname(errno));
    else printf("ok\n");
    return 0;
}

static int family(const char *name) {
    if (!strcmp(name, "unix")) return AF_UNIX;
    if (!strcmp(name, "inet")) return AF_INET;
    if (!strcmp(name, "inet6")) return AF_INET6;
    if (!strcmp(name, "packet")) return AF_PACKET;
    if (!strcmp(name, "netlink")) return AF_NETLINK;
    if (!strcmp(name, "vsock")) return AF_VSOCK;
    if (!strcmp(name, "alg")) return AF_ALG;
    if (!strcmp(name, "bluetooth")) return AF_BLUETOOTH;
    if (!strcmp(name, "xdp")) return 44; /* AF_XDP */
    fprintf(stderr, "probe: unknown family %s\n", name);
    exit(2);
}

/* i386 syscall through int 0x80, from this 64-bit process. */
static long int80(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    if (ret < 0 && ret > -4096) { errno = (int)-ret; return -1; }
    return ret;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: probe OP [ARGS...]\n"); return 2; }
    const char *op = argv[1];
    const char *a = argc > 2 ? argv[2] : NULL;
    const char *b = argc > 3 ? argv[3] : NULL;
#define NEED(n) do { if (argc < 2 + (n)) { fprintf(stderr, "probe %s: needs %d args\n", op, n); return 2; } } while (0)

    if (!strcmp(op, "write")) {            /* write PATH: create/open for writing */
        NEED(1); int fd = open(a, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0 && write(fd, "x", 1) != 1) fd = -1;
        return report(fd);
    }
    if (!strcmp(op, "read")) {             /* read PATH */
        NEED(1); char buf[16]; int fd = open(a, O_RDONLY);
        if (fd >= 0 && read(fd, buf, sizeof buf) < 0) fd = -1;
        return report(fd);
    }
    if (!strcmp(op, "readdir")) { NEED(1); int fd = open(a, O_RDONLY | O_DIRECTORY); return report(fd); }
    if (!strcmp(op, "truncate")) { NEED(1); return report(truncate(a, 0)); }
    if (!strcmp(op, "ftruncate")) {        /* open O_RDONLY is allowed, then ftruncate needs write */
        NEED(1); int fd = open(a, O_WRONLY); if (fd < 0) return report(-1); return report(ftruncate(fd, 0));
    }
    if (!strcmp(op, "rename")) { NEED(2); return report(rename(a, b)); }
    if (!strcmp(op, "link")) { NEED(2); return report(link(a, b)); }
    if (!strcmp(op, "symlink")) { NEED(2); return report(symlink(a, b)); }
    if (!strcmp(op, "unlink")) { NEED(1); return report(unlink(a)); }
    if (!strcmp(op, "mkdir")) { NEED(1); return report(mkdir(a, 0755)); }
    if (!strcmp(op, "rmdir")) { NEED(1); return report(rmdir(a)); }
    if (!strcmp(op, "mkfifo")) { NEED(1); return report(mknod(a, S_IFIFO | 0644, 0)); }
    if (!strcmp(op, "mknod-block")) { NEED(1); return report(mknod(a, S_IFBLK | 0600, makedev(7, 0))); }
    if (!strcmp(op, "mknod-char")) { NEED(1); return report(mknod(a, S_IFCHR | 0600, makedev(1, 3))); }
    if (!strcmp(op, "exec")) { NEED(1); execv(a, argv + 2); return report(-1); }
    if (!strcmp(op, "socket")) {           /* socket FAMILY [TYPE] [PROTO] */
        NEED(1);
        int type = b && !strcmp(b, "dgram") ? SOCK_DGRAM : b && !strcmp(b, "raw") ? SOCK_RAW : SOCK_STREAM;
        int proto = argc > 4 ? atoi(argv[4]) : 0;
        return report(socket(family(a), type, proto));
    }
    if (!strcmp(op, "socketpair")) { NEED(1); int sv[2]; return report(socketpair(family(a), SOCK_STREAM, 0, sv)); }
    if (!strcmp(op, "io_uring")) {
        struct io_uring_params p; memset(&p, 0, sizeof p);
        return report(syscall(__NR_io_uring_setup, 4, &p));
    }
    if (!strcmp(op, "i386-socket")) {      /* socket(FAMILY, SOCK_STREAM, 0) via int 0x80 (nr 359) */
        NEED(1); return report(int80(359, family(a), SOCK_STREAM, 0));
    }
    if (!strcmp(op, "i386-socketcall")) {  /* socketcall(SYS_SOCKET, {FAMILY, SOCK_STREAM, 0}) via int 0x80 (nr 102) */
        NEED(1);
        uint32_t *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (args == MAP_FAILED) { perror("mmap"); return 2; }
        args[0] = family(a); args[1] = SOCK_STREAM; args[2] = 0;
        return report(int80(102, 1, (long)(uintptr_t)args, 0));
    }
    if (!strcmp(op, "x32-socket")) {       /* socket via the x32 ABI (nr 41 | 0x40000000) */
        NEED(1); return report(syscall(41 | 0x40000000, family(a), SOCK_STREAM, 0));
    }
    if (!strcmp(op, "kill")) {             /* kill PID [SIG] (default 0: existence/permission check) */
        NEED(1); return report(kill(atoi(a), b ? atoi(b) : 0));
    }
    if (!strcmp(op, "connect-abstract")) { /* connect to the abstract unix socket NAME */
        NEED(1); int fd = socket(AF_UNIX, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        struct sockaddr_un sa; memset(&sa, 0, sizeof sa); sa.sun_family = AF_UNIX;
        size_t n = strlen(a); if (n > sizeof sa.sun_path - 1) n = sizeof sa.sun_path - 1;
        memcpy(sa.sun_path + 1, a, n);
        return report(connect(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + n));
    }
    if (!strcmp(op, "fds")) {              /* list open fds above 2 (excluding the dir fd used to list) */
        for (int fd = 3; fd < 1024; fd++) if (fcntl(fd, F_GETFD) >= 0) printf("%d\n", fd);
        printf("end\n"); return 0;
    }
    if (!strcmp(op, "open-wronly")) {      /* open-wronly PATH: open for writing and close; never writes */
        NEED(1); int fd = open(a, O_WRONLY); if (fd >= 0) close(fd); return report(fd);
    }
    if (!strcmp(op, "connect-fd")) {       /* connect the inherited TCP socket FD to 127.0.0.1:PORT */
        NEED(2); struct sockaddr_in sa; memset(&sa, 0, sizeof sa); sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)atoi(b)); sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return report(connect(atoi(a), (struct sockaddr *)&sa, sizeof sa));
    }
    if (!strcmp(op, "bind-fd")) {          /* bind the inherited TCP socket FD to 127.0.0.1:PORT (0: any free port) */
        NEED(2); struct sockaddr_in sa; memset(&sa, 0, sizeof sa); sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)atoi(b)); sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return report(bind(atoi(a), (struct sockaddr *)&sa, sizeof sa));
    }
    if (!strcmp(op, "landlock-abi")) {     /* landlock_create_ruleset(NULL, 0, VERSION): is Landlock there? */
        return report(syscall(__NR_landlock_create_ruleset, NULL, 0, 1));
    }
    if (!strcmp(op, "connect-unix")) {     /* connect to the unix socket at PATH */
        NEED(1); int fd = socket(AF_UNIX, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        struct sockaddr_un sa; memset(&sa, 0, sizeof sa); sa.sun_family = AF_UNIX;
        strncpy(sa.sun_path, a, sizeof sa.sun_path - 1);
        return report(connect(fd, (struct sockaddr *)&sa, sizeof sa));
    }
    if (!strcmp(op, "abstract-self")) {    /* listen on the abstract unix socket NAME and connect to it */
        NEED(1); struct sockaddr_un sa; memset(&sa, 0, sizeof sa); sa.sun_family = AF_UNIX;
        size_t n = strlen(a); if (n > sizeof sa.sun_path - 1) n = sizeof sa.sun_path - 1;
        memcpy(sa.sun_path + 1, a, n);
        socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
        int l = socket(AF_UNIX, SOCK_STREAM, 0); if (l < 0) return report(-1);
        if (bind(l, (struct sockaddr *)&sa, len) < 0 || listen(l, 1) < 0) return report(-1);
        int c = socket(AF_UNIX, SOCK_STREAM, 0); if (c < 0) return report(-1);
        return report(connect(c, (struct sockaddr *)&sa, len));
    }
    fprintf(stderr, "probe: unknown op %s\n", op);
    return 2;
}
