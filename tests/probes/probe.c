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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <time.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <dirent.h>
#include <net/if.h>
#include <pty.h>
#include <sys/inotify.h>
#include <sys/timex.h>
#include <sys/resource.h>

static const char *errname(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EXDEV: return "EXDEV";
    case ENOENT: return "ENOENT";
    case ENOSYS: return "ENOSYS";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ESRCH: return "ESRCH";
    case EROFS: return "EROFS";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EADDRINUSE: return "EADDRINUSE";
    case EINPROGRESS: return "EINPROGRESS";
    case EBADF: return "EBADF";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOTTY: return "ENOTTY";
    case EFAULT: return "EFAULT";
    case ENOKEY: return "ENOKEY";
    case ESTALE: return "ESTALE";
    case ENOEXEC: return "ENOEXEC";
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

/* One IORING_OP_FSETXATTR of NAME=VALUE on fd, done inside the kernel by
 * io_uring (no fsetxattr system call): 0, or -errno. */
static long uring_fsetxattr(int fd, const char *name, const char *value) {
    struct io_uring_params p; memset(&p, 0, sizeof p);
    int ring = syscall(__NR_io_uring_setup, 1, &p);
    if (ring < 0) return -errno;
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
    char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
    struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return -errno;
    struct io_uring_sqe *e = &sqes[0]; memset(e, 0, sizeof *e);
    e->opcode = IORING_OP_FSETXATTR; e->fd = fd;
    e->addr = (unsigned long)name; e->addr2 = (unsigned long)value; e->len = strlen(value);
    unsigned *tail = (unsigned *)(sq + p.sq_off.tail), *array = (unsigned *)(sq + p.sq_off.array);
    array[*tail & *(unsigned *)(sq + p.sq_off.ring_mask)] = 0;
    __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) return -errno;
    unsigned head = __atomic_load_n((unsigned *)(cq + p.cq_off.head), __ATOMIC_ACQUIRE);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return cqes[head & *(unsigned *)(cq + p.cq_off.ring_mask)].res;
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


/* ADDR PORT → sockaddr (IPv6 if ADDR has a ':'); returns its length. */
static socklen_t inaddr(const char *addr, const char *port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6; s6->sin6_port = htons(atoi(port));
        if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1) { fprintf(stderr, "probe: bad address %s\n", addr); exit(2); }
        return sizeof *s6;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET; s4->sin_port = htons(atoi(port));
    if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1) { fprintf(stderr, "probe: bad address %s\n", addr); exit(2); }
    return sizeof *s4;
}

static socklen_t unaddr(const char *path, struct sockaddr_un *sa) {
    memset(sa, 0, sizeof *sa); sa->sun_family = AF_UNIX;
    strncpy(sa->sun_path, path, sizeof sa->sun_path - 1);
    return sizeof *sa;
}

/* The racing connect test: threads connect in a loop to a shared sockaddr
 * that another thread keeps flipping between an allowed and a denied one. */
static struct sockaddr_storage race_ok, race_bad;
static struct sockaddr_storage race_shared;
static socklen_t race_len;
static volatile int race_stop;
static long race_iters, race_connected;
static pthread_mutex_t race_mu = PTHREAD_MUTEX_INITIALIZER;

static void *race_flipper(void *arg) {
    (void)arg;
    unsigned char *dst = (unsigned char *)&race_shared;
    while (!race_stop) {
        /* Byte by byte, so even torn mixes of the two addresses occur. */
        for (size_t i = 0; i < race_len; i++) dst[i] = ((unsigned char *)&race_ok)[i];
        for (size_t i = 0; i < race_len; i++) dst[i] = ((unsigned char *)&race_bad)[i];
    }
    return NULL;
}

static void *race_connector(void *arg) {
    (void)arg;
    long ok = 0;
    for (long i = 0; i < race_iters && !race_stop; i++) {
        int fd = socket(race_shared.ss_family, SOCK_STREAM, 0);
        if (fd < 0) break;
        if (connect(fd, (struct sockaddr *)&race_shared, race_len) == 0) ok++;
        close(fd);
    }
    pthread_mutex_lock(&race_mu); race_connected += ok; pthread_mutex_unlock(&race_mu);
    return NULL;
}

static int race_udp_fd;
static int race_use_sendmsg;
static void *race_sender(void *arg) {       /* sendto (or sendmsg) through the flipping address */
    (void)arg;
    long ok = 0;
    for (long i = 0; i < race_iters && !race_stop; i++) {
        if (race_use_sendmsg) {
            struct iovec iov = {"x", 1};
            struct mmsghdr mm; memset(&mm, 0, sizeof mm);
            mm.msg_hdr.msg_name = &race_shared; mm.msg_hdr.msg_namelen = race_len;
            mm.msg_hdr.msg_iov = &iov; mm.msg_hdr.msg_iovlen = 1;
            if (race_use_sendmsg == 2) { if (sendmmsg(race_udp_fd, &mm, 1, 0) == 1) ok++; }
            else if (sendmsg(race_udp_fd, &mm.msg_hdr, 0) == 1) ok++;
        } else if (sendto(race_udp_fd, "x", 1, 0, (struct sockaddr *)&race_shared, race_len) == 1) ok++;
    }
    pthread_mutex_lock(&race_mu); race_connected += ok; pthread_mutex_unlock(&race_mu);
    return NULL;
}

static long race_bad_binds;
static void *race_binder(void *arg) {       /* bind fresh UDP sockets through the flipping address */
    (void)arg;
    long bad = 0;
    for (long i = 0; i < race_iters && !race_stop; i++) {
        int fd = socket(race_ok.ss_family, SOCK_DGRAM, 0);
        if (fd < 0) break;
        if (bind(fd, (struct sockaddr *)&race_shared, race_len) == 0) {
            struct sockaddr_storage got; socklen_t gl = sizeof got;
            /* The kernel's answer: did this socket end up on the denied address? */
            if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0 && got.ss_family == AF_INET
                && ((struct sockaddr_in *)&got)->sin_addr.s_addr == ((struct sockaddr_in *)&race_bad)->sin_addr.s_addr
                && ((struct sockaddr_in *)&got)->sin_port == ((struct sockaddr_in *)&race_bad)->sin_port) bad++;
        }
        close(fd);
    }
    pthread_mutex_lock(&race_mu); race_bad_binds += bad; pthread_mutex_unlock(&race_mu);
    return NULL;
}

static char race_path_ok[256], race_path_bad[256], race_path[256];
static size_t race_path_len;
static void *race_path_flipper(void *arg) {
    (void)arg;
    while (!race_stop) {
        for (size_t i = 0; i < race_path_len; i++) race_path[i] = race_path_ok[i];
        for (size_t i = 0; i < race_path_len; i++) race_path[i] = race_path_bad[i];
    }
    return NULL;
}
static int race_path_op; /* 0 chmod 0600, 1 chown to uid/gid 1234, 2 utimes to 1000000000, 3 setxattr user.sbx, 4 truncate, 5 open O_WRONLY|O_CREAT and write, 6 rename a fresh file onto it */
static void *race_chmodder(void *arg) {     /* the metadata write through the flipping path */
    (void)arg;
    long ok = 0;
    for (long i = 0; i < race_iters && !race_stop; i++) {
        long r;
        struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
        switch (race_path_op) {
        case 0: r = syscall(SYS_chmod, race_path, 0600); break;
        case 1: r = syscall(SYS_chown, race_path, 1234, 1234); break;
        case 2: r = syscall(SYS_utimes, race_path, tv); break;
        case 4: r = syscall(SYS_truncate, race_path, 0); break;
        case 5: {
            r = syscall(SYS_openat, AT_FDCWD, race_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
            if (r >= 0) { if (write((int)r, "raced\n", 6) != 6) {} close((int)r); r = 0; }
            break;
        }
        case 6: {
            char tmp[64]; snprintf(tmp, sizeof tmp, "race-src-%ld", (long)syscall(SYS_gettid));
            int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
            if (fd >= 0) { if (write(fd, "raced\n", 6) != 6) {} close(fd); }
            r = syscall(SYS_rename, tmp, race_path);
            break;
        }
        default: r = syscall(SYS_setxattr, race_path, "user.sbx", "raced", 5, 0); break;
        }
        if (r == 0) ok++;
    }
    pthread_mutex_lock(&race_mu); race_connected += ok; pthread_mutex_unlock(&race_mu);
    return NULL;
}

static void *race_flipper_noop(void *arg) { return arg; }
static const char *swap_link, *swap_good, *swap_bad, *swap_name;
static void *swap_flipper(void *arg) {      /* LINK -> GOOD, LINK -> BAD, ... each by symlink + rename */
    char tmp[4096]; snprintf(tmp, sizeof tmp, "%s.tmp", swap_link);
    for (long i = 0; !race_stop; i++) {
        unlink(tmp);
        if (symlink(i % 2 ? swap_bad : swap_good, tmp) == 0) rename(tmp, swap_link);
    }
    return arg;
}
static void *swap_writer(void *arg) {       /* creates LINK/NAME, counting successes, removing each */
    char path[4096]; snprintf(path, sizeof path, "%s/%s", swap_link, swap_name);
    long ok = 0;
    for (long i = 0; i < race_iters; i++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
        if (fd >= 0) { if (write(fd, "raced\n", 6) != 6) {} close(fd); ok++; }
    }
    pthread_mutex_lock(&race_mu); race_connected += ok; pthread_mutex_unlock(&race_mu);
    return arg;
}
static void *sleeper(void *arg) { for (;;) pause(); return arg; }
static const char *flood_addr, *flood_port;
static void *flood_connect(void *arg) {
    struct sockaddr_storage ss; socklen_t len = inaddr(flood_addr, flood_port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    connect(fd, (struct sockaddr *)&ss, len);
    return arg;
}

/* i386 syscall through int 0x80 with five arguments. */
static long int80_5(long nr, long a, long b, long c, long d, long e) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
    if (ret < 0 && ret > -4096) { errno = (int)-ret; return -1; }
    return ret;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: probe OP [ARGS...]\n"); return 2; }
    const char *op = argv[1];
    const char *a = argc > 2 ? argv[2] : NULL;
    const char *b = argc > 3 ? argv[3] : NULL;
#define NEED(n) do { if (argc < 2 + (n)) { fprintf(stderr, "probe %s: needs %d args\n", op, n); return 2; } } while (0)

    /* Metadata writes (issue #6). MODE is octal; TIME is seconds since the epoch. */
    const char *c = argc > 4 ? argv[4] : NULL;
    if (!strcmp(op, "chmod")) { NEED(2); return report(syscall(SYS_chmod, a, strtol(b, NULL, 8))); }
    if (!strcmp(op, "fchmodat")) { NEED(2); return report(syscall(SYS_fchmodat, AT_FDCWD, a, strtol(b, NULL, 8))); }
    if (!strcmp(op, "fchmodat2")) { NEED(2); return report(syscall(452, AT_FDCWD, a, strtol(b, NULL, 8), 0)); }
    if (!strcmp(op, "fchmod")) {           /* fchmod PATH MODE: open O_RDONLY, then fchmod */
        NEED(2); int fd = open(a, O_RDONLY); if (fd < 0) return report(fd);
        return report(fchmod(fd, strtol(b, NULL, 8)));
    }
    if (!strcmp(op, "chown")) { NEED(3); return report(syscall(SYS_chown, a, atoi(b), atoi(c))); }
    if (!strcmp(op, "lchown")) { NEED(3); return report(syscall(SYS_lchown, a, atoi(b), atoi(c))); }
    if (!strcmp(op, "fchownat")) { NEED(3); return report(syscall(SYS_fchownat, AT_FDCWD, a, atoi(b), atoi(c), 0)); }
    if (!strcmp(op, "fchown")) {
        NEED(3); int fd = open(a, O_RDONLY); if (fd < 0) return report(fd);
        return report(fchown(fd, atoi(b), atoi(c)));
    }
    if (!strcmp(op, "utimensat")) {        /* utimensat PATH TIME: atime = mtime = TIME */
        NEED(2); struct timespec t[2] = {{atol(b), 0}, {atol(b), 0}};
        return report(syscall(SYS_utimensat, AT_FDCWD, a, t, 0));
    }
    if (!strcmp(op, "utimensat-now")) { NEED(1); return report(syscall(SYS_utimensat, AT_FDCWD, a, NULL, 0)); }
    if (!strcmp(op, "utimes")) {
        NEED(2); struct timeval t[2] = {{atol(b), 0}, {atol(b), 0}};
        return report(syscall(SYS_utimes, a, t));
    }
    if (!strcmp(op, "utime")) {            /* utime PATH TIME (struct utimbuf) */
        NEED(2); long t[2] = {atol(b), atol(b)};
        return report(syscall(SYS_utime, a, t));
    }
    if (!strcmp(op, "futimesat")) {        /* futimesat PATH TIME, from AT_FDCWD */
        NEED(2); struct timeval t[2] = {{atol(b), 0}, {atol(b), 0}};
        return report(syscall(SYS_futimesat, AT_FDCWD, a, t));
    }
    if (!strcmp(op, "setxattrat")) {       /* setxattrat PATH NAME VALUE (Linux 6.13; struct xattr_args) */
        NEED(3); struct { unsigned long long value; unsigned int size, flags; } x = {(unsigned long)c, strlen(c), 0};
        return report(syscall(463, AT_FDCWD, a, 0, b, &x, sizeof x));
    }
    if (!strcmp(op, "removexattrat")) {    /* removexattrat PATH NAME (Linux 6.13) */
        NEED(2); return report(syscall(466, AT_FDCWD, a, 0, b));
    }
    if (!strcmp(op, "file_setattr")) {     /* file_setattr PATH: set no flag at all (Linux 6.17; struct file_attr) */
        NEED(1); unsigned long long fa[3] = {0, 0, 0};
        return report(syscall(469, AT_FDCWD, a, fa, 24 /* FILE_ATTR_SIZE_VER0 */, 0));
    }
    if (!strcmp(op, "futimens")) {         /* futimens PATH TIME: open O_RDONLY, utimensat(fd, NULL, …) */
        NEED(2); int fd = open(a, O_RDONLY); if (fd < 0) return report(fd);
        struct timespec t[2] = {{atol(b), 0}, {atol(b), 0}};
        return report(syscall(SYS_utimensat, fd, NULL, t, 0));
    }
    if (!strcmp(op, "setxattr")) { NEED(3); return report(setxattr(a, b, c, strlen(c), 0)); }
    if (!strcmp(op, "lsetxattr")) { NEED(3); return report(lsetxattr(a, b, c, strlen(c), 0)); }
    if (!strcmp(op, "fsetxattr")) {
        NEED(3); int fd = open(a, O_RDONLY); if (fd < 0) return report(fd);
        return report(fsetxattr(fd, b, c, strlen(c), 0));
    }
    if (!strcmp(op, "getxattr")) {         /* getxattr PATH NAME: prints the value */
        NEED(2); char v[256]; ssize_t n = getxattr(a, b, v, sizeof v - 1);
        if (n < 0) return report(n);
        v[n] = 0; printf("%s\n", v); return 0;
    }
    if (!strcmp(op, "removexattr")) { NEED(2); return report(removexattr(a, b)); }
    if (!strcmp(op, "lremovexattr")) { NEED(2); return report(lremovexattr(a, b)); }
    if (!strcmp(op, "fremovexattr")) {
        NEED(2); int fd = open(a, O_RDONLY); if (fd < 0) return report(fd);
        return report(fremovexattr(fd, b));
    }
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
    if (!strcmp(op, "race-swap")) {        /* race-swap LINK GOOD BAD NAME ITERS: LINK flips between GOOD and BAD (symlink + rename) while two threads create LINK/NAME */
        NEED(5);
        swap_link = a; swap_good = b; swap_bad = c; swap_name = argv[5]; race_iters = atol(argv[6]);
        pthread_t flip, w[2];
        pthread_create(&flip, NULL, swap_flipper, NULL);
        for (int i = 0; i < 2; i++) pthread_create(&w[i], NULL, swap_writer, NULL);
        for (int i = 0; i < 2; i++) pthread_join(w[i], NULL);
        race_stop = 1; pthread_join(flip, NULL);
        printf("ok created=%ld\n", race_connected); return 0;
    }
    if (!strcmp(op, "tmpfile-link")) {     /* tmpfile-link DIR NAME: an O_TMPFILE file in DIR, written, then named NAME through /proc/self/fd */
        NEED(2); int fd = open(a, O_TMPFILE | O_WRONLY, 0644); if (fd < 0) return report(-1);
        if (write(fd, "tmp\n", 4) != 4) return report(-1);
        char via[64]; snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
        return report(linkat(AT_FDCWD, via, AT_FDCWD, b, AT_SYMLINK_FOLLOW));
    }
    if (!strcmp(op, "write-stdout-path")) { /* write-stdout-path: open /dev/stdout for writing (O_TRUNC) and write "via-path" */
        int fd = open("/dev/stdout", O_WRONLY | O_CREAT | O_TRUNC, 0644); if (fd < 0) return report(-1);
        if (write(fd, "via-path\n", 9) != 9) return report(-1);
        return 0;
    }
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
    if (!strcmp(op, "i386-path-call")) {   /* i386-path-call NR: NR(AT_FDCWD, "/nonexistent-sbx", 0, 0, 0) via int 0x80 */
        NEED(1);
        char *path = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (path == MAP_FAILED) { perror("mmap"); return 2; }
        strcpy(path, "/nonexistent-sbx");
        return report(int80_5(atol(a), -100 /* AT_FDCWD */, (long)(uintptr_t)path, 0, 0, 0));
    }
    if (!strcmp(op, "i386-call") || !strcmp(op, "call")) {
        /* i386-call NR [ARG...] / call NR [ARG...]: a raw call on the i386 entry (int 0x80) or the
           native one, up to five arguments: numbers (strtol base 0), s:TEXT for a pointer to
           TEXT (in memory below 4 GiB, which the i386 entry can address), or f:PATH for a
           read-only fd of PATH */
        NEED(1);
        if (argc > 8) { fprintf(stderr, "probe: at most five arguments\n"); return 2; }
        char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (page == MAP_FAILED) { perror("mmap"); return 2; }
        long v[5] = {0}; size_t used = 0;
        for (int i = 3; i < argc; i++) {
            if (!strncmp(argv[i], "f:", 2)) {
                v[i - 3] = open(argv[i] + 2, O_RDONLY | O_NOFOLLOW);
                if (v[i - 3] < 0) { perror(argv[i] + 2); return 2; }
            } else if (!strncmp(argv[i], "s:", 2)) {
                size_t n = strlen(argv[i] + 2) + 1;
                if (used + n > 4096) { fprintf(stderr, "probe: strings too long\n"); return 2; }
                memcpy(page + used, argv[i] + 2, n); v[i - 3] = (long)(uintptr_t)(page + used); used += n;
            } else {
                v[i - 3] = strtol(argv[i], NULL, 0);
            }
        }
        if (!strcmp(op, "call")) return report(syscall(atol(a), v[0], v[1], v[2], v[3], v[4]));
        return report(int80_5(atol(a), v[0], v[1], v[2], v[3], v[4]));
    }
    if (!strcmp(op, "i386-clone")) {       /* i386-clone FLAGS: clone(FLAGS|SIGCHLD) via int 0x80 (nr 120); the child exits */
        NEED(1);
        long pid = int80_5(120, strtol(a, NULL, 0) | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid(pid, NULL, 0);
        return report(pid);
    }
    if (!strcmp(op, "x32-socket")) {       /* socket via the x32 ABI (nr 41 | 0x40000000) */
        NEED(1); return report(syscall(41 | 0x40000000, family(a), SOCK_STREAM, 0));
    }
    if (!strcmp(op, "connect")) {          /* connect ADDR PORT (TCP) */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        return report(connect(fd, (struct sockaddr *)&ss, len));
    }
    if (!strcmp(op, "sleep-connect")) {    /* sleep-connect SECS ADDR PORT */
        NEED(3); struct sockaddr_storage ss; socklen_t len = inaddr(b, argv[4], &ss);
        int fd = socket(ss.ss_family, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        printf("ready\n"); fflush(stdout);
        sleep(atoi(a));
        int r = report(connect(fd, (struct sockaddr *)&ss, len)); fflush(stdout); return r;
    }
    if (!strcmp(op, "nonblock-connect")) { /* nonblock-connect ADDR PORT: EINPROGRESS, then SO_ERROR */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0); if (fd < 0) return report(-1);
        if (connect(fd, (struct sockaddr *)&ss, len) == 0) return report(0);
        if (errno != EINPROGRESS) return report(-1);
        struct timespec t = {0, 200 * 1000 * 1000}; nanosleep(&t, NULL);
        int err = 0; socklen_t el = sizeof err; getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) { errno = err; return report(-1); }
        printf("ok EINPROGRESS\n"); return 0;
    }
    if (!strcmp(op, "bind")) {             /* bind ADDR PORT (TCP) */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        int one = 1; setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        return report(bind(fd, (struct sockaddr *)&ss, len));
    }
    if (!strcmp(op, "tcp-listen")) {       /* tcp-listen ADDR PORT: bind, listen, "listening", accept one connection */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        int one = 1; setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 8) < 0) return report(-1);
        printf("listening\n"); fflush(stdout);
        alarm(20); int c = accept(fd, NULL, NULL); if (c < 0) return report(-1);
        printf("accepted\n"); return 0;
    }
    if (!strcmp(op, "tcp-self")) {         /* tcp-self ADDR: a server on ADDR port 0, as a test suite starts one; connect to it on loopback */
        NEED(1); struct sockaddr_storage ss; socklen_t len = inaddr(a, "0", &ss);
        int fd = socket(ss.ss_family, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 8) < 0) return report(-1);
        struct sockaddr_storage me; socklen_t ml = sizeof me;
        if (getsockname(fd, (struct sockaddr *)&me, &ml) < 0) return report(-1);
        if (me.ss_family == AF_INET) ((struct sockaddr_in *)&me)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else ((struct sockaddr_in6 *)&me)->sin6_addr = in6addr_loopback;
        int c = socket(me.ss_family, SOCK_STREAM, 0); if (c < 0) return report(-1);
        if (connect(c, (struct sockaddr *)&me, ml) < 0) return report(-1);
        alarm(10); return report(accept(fd, NULL, NULL) < 0 ? -1 : 0);
    }
    if (!strcmp(op, "udp-send")) {         /* udp-send ADDR PORT: sendto "sbx-probe" */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_DGRAM, 0); if (fd < 0) return report(-1);
        return report(sendto(fd, "sbx-probe", 9, 0, (struct sockaddr *)&ss, len));
    }
    if (!strcmp(op, "udp-sendmsg")) {      /* udp-sendmsg ADDR PORT: sendmsg "sbx-sendmsg" in two iovecs */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_DGRAM, 0); if (fd < 0) return report(-1);
        struct iovec iov[2] = {{"sbx-", 4}, {"sendmsg", 7}};
        struct msghdr m; memset(&m, 0, sizeof m);
        m.msg_name = &ss; m.msg_namelen = len; m.msg_iov = iov; m.msg_iovlen = 2;
        return report(sendmsg(fd, &m, 0));
    }
    if (!strcmp(op, "udp-sendmmsg")) {     /* udp-sendmmsg ADDR PORT: two datagrams "one" "two" */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_DGRAM, 0); if (fd < 0) return report(-1);
        struct iovec iov[2] = {{"one", 3}, {"two", 3}};
        struct mmsghdr mm[2]; memset(mm, 0, sizeof mm);
        for (int i = 0; i < 2; i++) { mm[i].msg_hdr.msg_name = &ss; mm[i].msg_hdr.msg_namelen = len; mm[i].msg_hdr.msg_iov = &iov[i]; mm[i].msg_hdr.msg_iovlen = 1; }
        int n = sendmmsg(fd, mm, 2, 0);
        if (n < 0) return report(-1);
        printf("ok %d %u %u\n", n, mm[0].msg_len, mm[1].msg_len); return 0;
    }
    if (!strcmp(op, "fastopen")) {         /* fastopen ADDR PORT: sendto(MSG_FASTOPEN) on a TCP socket */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        return report(sendto(fd, "GET", 3, MSG_FASTOPEN, (struct sockaddr *)&ss, len));
    }
    if (!strcmp(op, "race")) {             /* race OK_ADDR OK_PORT BAD_ADDR BAD_PORT THREADS ITERS */
        NEED(6);
        socklen_t l1 = inaddr(argv[2], argv[3], &race_ok), l2 = inaddr(argv[4], argv[5], &race_bad);
        if (l1 != l2) { fprintf(stderr, "probe race: both addresses must be of one family\n"); return 2; }
        race_len = l1; memcpy(&race_shared, &race_ok, race_len);
        int threads = atoi(argv[6]); race_iters = atol(argv[7]);
        pthread_t flip, conn[64];
        if (threads > 64) threads = 64;
        pthread_create(&flip, NULL, race_flipper, NULL);
        for (int i = 0; i < threads; i++) pthread_create(&conn[i], NULL, race_connector, NULL);
        for (int i = 0; i < threads; i++) pthread_join(conn[i], NULL);
        race_stop = 1; pthread_join(flip, NULL);
        printf("ok connected=%ld\n", race_connected); return 0;
    }
    if (!strcmp(op, "race-udp") || !strcmp(op, "race-udp-sendmsg") || !strcmp(op, "race-udp-sendmmsg")) {
        /* race-udp[-sendmsg|-sendmmsg] OK_ADDR OK_PORT BAD_ADDR BAD_PORT THREADS ITERS */
        NEED(6);
        race_use_sendmsg = !strcmp(op, "race-udp-sendmsg") ? 1 : !strcmp(op, "race-udp-sendmmsg") ? 2 : 0;
        socklen_t l1 = inaddr(argv[2], argv[3], &race_ok), l2 = inaddr(argv[4], argv[5], &race_bad);
        if (l1 != l2) { fprintf(stderr, "probe race-udp: both addresses must be of one family\n"); return 2; }
        race_len = l1; memcpy(&race_shared, &race_ok, race_len);
        race_udp_fd = socket(race_ok.ss_family, SOCK_DGRAM, 0); if (race_udp_fd < 0) return report(-1);
        int threads = atoi(argv[6]); race_iters = atol(argv[7]);
        pthread_t flip, snd[64];
        if (threads > 64) threads = 64;
        pthread_create(&flip, NULL, race_flipper, NULL);
        for (int i = 0; i < threads; i++) pthread_create(&snd[i], NULL, race_sender, NULL);
        for (int i = 0; i < threads; i++) pthread_join(snd[i], NULL);
        race_stop = 1; pthread_join(flip, NULL);
        printf("ok sent=%ld\n", race_connected); return 0;
    }
    if (!strcmp(op, "race-bind")) {        /* race-bind OK_ADDR OK_PORT BAD_ADDR BAD_PORT THREADS ITERS (IPv4) */
        NEED(6);
        socklen_t l1 = inaddr(argv[2], argv[3], &race_ok), l2 = inaddr(argv[4], argv[5], &race_bad);
        if (l1 != l2 || race_ok.ss_family != AF_INET) { fprintf(stderr, "probe race-bind: two IPv4 addresses\n"); return 2; }
        race_len = l1; memcpy(&race_shared, &race_ok, race_len);
        int threads = atoi(argv[6]); race_iters = atol(argv[7]);
        pthread_t flip, bnd[64];
        if (threads > 64) threads = 64;
        pthread_create(&flip, NULL, race_flipper, NULL);
        for (int i = 0; i < threads; i++) pthread_create(&bnd[i], NULL, race_binder, NULL);
        for (int i = 0; i < threads; i++) pthread_join(bnd[i], NULL);
        race_stop = 1; pthread_join(flip, NULL);
        printf("ok bad=%ld\n", race_bad_binds); return 0;
    }
    if (!strcmp(op, "race-chmod") || !strcmp(op, "race-chown") || !strcmp(op, "race-utimes")
        || !strcmp(op, "race-setxattr") || !strcmp(op, "race-truncate") || !strcmp(op, "race-create")
        || !strcmp(op, "race-rename-onto")) {
        /* race-OP OK_PATH BAD_PATH THREADS ITERS (paths of one length) */
        NEED(4);
        race_path_op = !strcmp(op, "race-chmod") ? 0 : !strcmp(op, "race-chown") ? 1 : !strcmp(op, "race-utimes") ? 2
                     : !strcmp(op, "race-truncate") ? 4 : !strcmp(op, "race-create") ? 5
                     : !strcmp(op, "race-rename-onto") ? 6 : 3;
        race_path_len = strlen(argv[2]) + 1;
        if (race_path_len != strlen(argv[3]) + 1 || race_path_len > sizeof race_path) {
            fprintf(stderr, "probe race-chmod: both paths must have one length\n"); return 2;
        }
        memcpy(race_path_ok, argv[2], race_path_len); memcpy(race_path_bad, argv[3], race_path_len);
        memcpy(race_path, race_path_ok, race_path_len);
        int threads = atoi(argv[4]); race_iters = atol(argv[5]);
        pthread_t flip, ch[64];
        if (threads > 64) threads = 64;
        pthread_create(&flip, NULL, race_path_flipper, NULL);
        for (int i = 0; i < threads; i++) pthread_create(&ch[i], NULL, race_chmodder, NULL);
        for (int i = 0; i < threads; i++) pthread_join(ch[i], NULL);
        race_stop = 1; pthread_join(flip, NULL);
        printf("ok changed=%ld\n", race_connected); return 0;
    }
    if (!strcmp(op, "unix-connect")) {     /* unix-connect PATH */
        NEED(1); struct sockaddr_un sa; socklen_t len = unaddr(a, &sa);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        return report(connect(fd, (struct sockaddr *)&sa, len));
    }
    if (!strcmp(op, "unix-bind")) {        /* unix-bind PATH: bind a stream socket at PATH (makes the socket file) */
        NEED(1);
        struct sockaddr_un un; memset(&un, 0, sizeof un); un.sun_family = AF_UNIX;
        if (strlen(a) >= sizeof un.sun_path) { fprintf(stderr, "probe: path too long\n"); return 2; }
        strcpy(un.sun_path, a);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        return report(bind(fd, (struct sockaddr *)&un, sizeof un));
    }
    if (!strcmp(op, "unix-self")) {        /* unix-self PATH: bind+listen at PATH, connect to it, accept */
        NEED(1); struct sockaddr_un sa; socklen_t len = unaddr(a, &sa);
        int l = socket(AF_UNIX, SOCK_STREAM, 0); if (l < 0) return report(-1);
        if (bind(l, (struct sockaddr *)&sa, len) < 0 || listen(l, 1) < 0) return report(-1);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&sa, len) < 0) return report(-1);
        int s2 = accept(l, NULL, NULL); if (s2 < 0) return report(-1);
        if (write(c, "x", 1) != 1) return report(-1);
        char ch; if (read(s2, &ch, 1) != 1) return report(-1);
        return report(0);
    }
    if (!strcmp(op, "unix-dgram-self")) {  /* unix-dgram-self PATH: bind a datagram socket at PATH, sendto it */
        NEED(1); struct sockaddr_un sa; socklen_t len = unaddr(a, &sa);
        int r = socket(AF_UNIX, SOCK_DGRAM, 0), s = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (bind(r, (struct sockaddr *)&sa, len) < 0) return report(-1);
        if (sendto(s, "dg", 2, 0, (struct sockaddr *)&sa, len) != 2) return report(-1);
        char buf[4]; return report(recv(r, buf, sizeof buf, 0) == 2 ? 0 : -1);
    }
    if (!strcmp(op, "scm-rights")) {       /* pass an fd of FILE over a socketpair with sendmsg; check it arrives */
        NEED(1); int sv[2]; if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return report(-1);
        int f = open(a, O_RDONLY); if (f < 0) return report(-1);
        char cbuf[CMSG_SPACE(sizeof(int))]; memset(cbuf, 0, sizeof cbuf);
        struct iovec iov = {"r", 1}; struct msghdr m; memset(&m, 0, sizeof m);
        m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = cbuf; m.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m); c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int)); memcpy(CMSG_DATA(c), &f, sizeof(int));
        if (sendmsg(sv[0], &m, 0) != 1) return report(-1);
        char rbuf[CMSG_SPACE(sizeof(int))]; char ch; struct iovec riov = {&ch, 1}; struct msghdr r; memset(&r, 0, sizeof r);
        r.msg_iov = &riov; r.msg_iovlen = 1; r.msg_control = rbuf; r.msg_controllen = sizeof rbuf;
        if (recvmsg(sv[1], &r, 0) != 1) return report(-1);
        struct cmsghdr *rc = CMSG_FIRSTHDR(&r);
        if (!rc || rc->cmsg_type != SCM_RIGHTS) { printf("no-fd\n"); return 0; }
        int got; memcpy(&got, CMSG_DATA(rc), sizeof(int));
        struct stat s1, s2; fstat(f, &s1); fstat(got, &s2);
        printf(s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev ? "ok\n" : "wrong-file\n"); return 0;
    }
    if (!strcmp(op, "i386-connect")) {     /* connect(ADDR, PORT) via int 0x80 (nr 362) */
        NEED(2); struct sockaddr_in *sa = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (sa == MAP_FAILED) { perror("mmap"); return 2; }
        struct sockaddr_storage ss; inaddr(a, b, &ss); memcpy(sa, &ss, sizeof *sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0); if (fd < 0) return report(-1);
        return report(int80(362, fd, (long)(uintptr_t)sa, sizeof *sa));
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
    if (!strcmp(op, "opath-reopen")) {   /* open PATH with O_PATH, then re-open it for writing via /proc/self/fd */
        NEED(1); int fd = open(a, O_PATH); if (fd < 0) return report(-1);
        char p[64]; snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        int w = open(p, O_WRONLY); if (w >= 0) close(w); return report(w);
    }
    if (!strcmp(op, "pidfd-getfd-parent")) {  /* take fd 0 of the parent process */
        int pfd = syscall(SYS_pidfd_open, getppid(), 0); if (pfd < 0) return report(-1);
        return report(syscall(SYS_pidfd_getfd, pfd, 0, 0));
    }
    if (!strcmp(op, "chattr-noatime")) {  /* set FS_NOATIME_FL on PATH through FS_IOC_SETFLAGS (owner may) */
        NEED(1); int fd = open(a, O_RDONLY); if (fd < 0) return report(-1);
        long flags = 0; if (ioctl(fd, 0x80086601 /* FS_IOC_GETFLAGS */, &flags) < 0) return report(-1);
        flags |= 0x80 /* FS_NOATIME_FL */;
        return report(ioctl(fd, 0x40086602 /* FS_IOC_SETFLAGS */, &flags));
    }
    if (!strcmp(op, "euid")) { printf("%d\n", (int)geteuid()); return 0; }  /* for setuid copies */
    if (!strcmp(op, "fds")) {              /* list open fds above 2 (excluding the dir fd used to list) */
        for (int fd = 3; fd < 1024; fd++) if (fcntl(fd, F_GETFD) >= 0) printf("%d\n", fd);
        printf("end\n"); return 0;
    }
    if (!strcmp(op, "close_range")) {      /* close_range(3, ~0, CLOSE_RANGE_CLOEXEC): marks, closes nothing */
        return report(syscall(SYS_close_range, 3, ~0U, 1U << 2));
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
    /* Terminal injection: push one byte into the input of the terminal on fd 0. */
    if (!strcmp(op, "tiocsti")) { char c = 'Z'; return report(ioctl(0, TIOCSTI, &c)); }
    if (!strcmp(op, "tiocsti-high")) {     /* the same with the request's high half set (the kernel ignores it) */
        char c = 'Z'; return report(syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &c));
    }
    if (!strcmp(op, "i386-tiocsti")) {     /* ioctl(0, TIOCSTI) via int 0x80 (nr 54) */
        char *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (c == MAP_FAILED) { perror("mmap"); return 2; }
        *c = 'Z'; return report(int80(54, 0, TIOCSTI, (long)(uintptr_t)c));
    }
    if (!strcmp(op, "tioclinux")) { char sub = 6; /* TIOCL_GETSHIFTSTATE */ return report(ioctl(0, TIOCLINUX, &sub)); }
    /* Namespaces: each call affects the probe (or its short-lived child) only. */
    if (!strcmp(op, "unshare") || !strcmp(op, "clone-ns")) {
        /* unshare NS / clone-ns NS: NS = uts|user|mnt|net|pid|ipc|cgroup|time; clone-ns is a raw
           clone(FLAG|SIGCHLD) whose child exits at once (time has no clone flag) */
        NEED(1);
        int f = !strcmp(a, "uts") ? CLONE_NEWUTS : !strcmp(a, "user") ? CLONE_NEWUSER : !strcmp(a, "mnt") ? CLONE_NEWNS
              : !strcmp(a, "net") ? CLONE_NEWNET : !strcmp(a, "pid") ? CLONE_NEWPID : !strcmp(a, "ipc") ? CLONE_NEWIPC
              : !strcmp(a, "cgroup") ? CLONE_NEWCGROUP : !strcmp(a, "time") ? 0x80 : -1;
        if (f < 0) { fprintf(stderr, "probe: unknown namespace %s\n", a); return 2; }
        if (!strcmp(op, "unshare")) return report(unshare(f));
        long pid = syscall(SYS_clone, f | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid(pid, NULL, 0);
        return report(pid);
    }
    if (!strcmp(op, "fspick")) { return report(syscall(SYS_fspick, AT_FDCWD, "/", 0)); }
    if (!strcmp(op, "kexec_file_load")) { return report(syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0UL)); }
    if (!strcmp(op, "clone-newuser")) {    /* raw clone(CLONE_NEWUSER|SIGCHLD); the child exits at once */
        long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid(pid, NULL, 0);
        return report(pid);
    }
    if (!strcmp(op, "clone3")) {           /* raw clone3 of a plain child (no flags) */
        struct clone_args ca; memset(&ca, 0, sizeof ca); ca.exit_signal = SIGCHLD;
        long pid = syscall(SYS_clone3, &ca, sizeof ca);
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid(pid, NULL, 0);
        return report(pid);
    }
    if (!strcmp(op, "thread-fork")) {      /* libc's pthread_create and fork (clone3, falling back to clone) */
        pthread_t t; if ((errno = pthread_create(&t, NULL, race_flipper_noop, NULL)) != 0) return report(-1);
        pthread_join(t, NULL);
        pid_t pid = fork(); if (pid == 0) _exit(0); if (pid < 0) return report(-1);
        waitpid(pid, NULL, 0); return report(0);
    }
    if (!strcmp(op, "setns")) {            /* setns into the probe's own uts namespace */
        int fd = open("/proc/self/ns/uts", O_RDONLY); if (fd < 0) return report(-1);
        return report(setns(fd, CLONE_NEWUTS));
    }
    /* Mounts: on paths that do not exist, or creating nothing attached. */
    if (!strcmp(op, "mount")) { return report(mount("none", "/sbx-probe-none", "tmpfs", 0, NULL)); }
    if (!strcmp(op, "umount2")) { return report(umount2("/sbx-probe-none", 0)); }
    if (!strcmp(op, "pivot_root")) { return report(syscall(SYS_pivot_root, "/sbx-probe-none", "/sbx-probe-none")); }
    if (!strcmp(op, "chroot")) { return report(chroot("/")); }
    if (!strcmp(op, "open_tree")) { return report(syscall(SYS_open_tree, AT_FDCWD, "/", 0)); }
    if (!strcmp(op, "fsopen")) { return report(syscall(SYS_fsopen, "tmpfs", 0)); }
    if (!strcmp(op, "fsmount")) { return report(syscall(SYS_fsmount, -1, 0, 0)); }
    if (!strcmp(op, "fsconfig")) { return report(syscall(SYS_fsconfig, -1, 6 /* CMD_CREATE */, NULL, NULL, 0)); }
    if (!strcmp(op, "move_mount")) { return report(syscall(SYS_move_mount, -1, "", -1, "", 0)); }
    if (!strcmp(op, "mount_setattr")) { return report(syscall(SYS_mount_setattr, -1, "", 0, NULL, 0)); }
    /* Kernel code, keyrings, userfaultfd. */
    if (!strcmp(op, "bpf")) {              /* create a one-entry array map */
        union bpf_attr attr; memset(&attr, 0, sizeof attr);
        attr.map_type = BPF_MAP_TYPE_ARRAY; attr.key_size = 4; attr.value_size = 4; attr.max_entries = 1;
        return report(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
    }
    if (!strcmp(op, "perf_event_open")) {  /* count the probe's own task clock */
        struct perf_event_attr attr; memset(&attr, 0, sizeof attr);
        attr.type = PERF_TYPE_SOFTWARE; attr.size = sizeof attr; attr.config = PERF_COUNT_SW_TASK_CLOCK;
        attr.exclude_kernel = 1; attr.exclude_hv = 1;
        return report(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
    }
    if (!strcmp(op, "kexec_load")) { return report(syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL)); }
    if (!strcmp(op, "init_module")) { return report(syscall(SYS_init_module, NULL, 0, "")); }
    if (!strcmp(op, "finit_module")) { return report(syscall(SYS_finit_module, -1, "", 0)); }
    if (!strcmp(op, "delete_module")) { return report(syscall(SYS_delete_module, "sbx_probe_none", O_NONBLOCK)); }
    if (!strcmp(op, "keyctl")) { return report(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -2 /* process */, 1)); }
    if (!strcmp(op, "add_key")) { return report(syscall(SYS_add_key, "user", "sbx-probe", "x", 1, -2)); }
    if (!strcmp(op, "request_key")) { return report(syscall(SYS_request_key, "user", "sbx-probe-none", NULL, 0)); }
    /* Machine-wide state, with arguments that change nothing even bare as root. */
    if (!strcmp(op, "open_tree_attr")) {   /* clone a missing path's tree: ENOENT bare */
        return report(syscall(467 /* open_tree_attr */, AT_FDCWD, "/nonexistent-sbx", 1 /* OPEN_TREE_CLONE */, NULL, 0));
    }
    if (!strcmp(op, "open_by_handle_at")) {
        struct { unsigned int bytes; int type; unsigned char f[8]; } h = {8, 1, {0}};
        return report(syscall(SYS_open_by_handle_at, AT_FDCWD, &h, O_RDONLY));
    }
    if (!strcmp(op, "quotactl")) { return report(syscall(SYS_quotactl, 0, "/nonexistent-sbx", 0, NULL)); }
    if (!strcmp(op, "quotactl_fd")) { return report(syscall(443 /* quotactl_fd */, -1, 0, 0, NULL)); }
    if (!strcmp(op, "swapon")) { return report(syscall(SYS_swapon, "/nonexistent-sbx", 0)); }
    if (!strcmp(op, "swapoff")) { return report(syscall(SYS_swapoff, "/nonexistent-sbx")); }
    if (!strcmp(op, "reboot")) { return report(syscall(SYS_reboot, 0, 0, 0, NULL)); /* bad magic: EINVAL */ }
    if (!strcmp(op, "settimeofday")) { return report(syscall(SYS_settimeofday, NULL, NULL)); /* a no-op */ }
    if (!strcmp(op, "clock_settime")) {
        struct timespec ts = {0, 0}; return report(syscall(SYS_clock_settime, 1234 /* no such clock */, &ts));
    }
    if (!strcmp(op, "sethostname")) {      /* set the name it already has */
        char h[256] = {0}; gethostname(h, sizeof h - 1); return report(sethostname(h, strlen(h)));
    }
    if (!strcmp(op, "setdomainname")) {
        char d[256] = {0}; getdomainname(d, sizeof d - 1); return report(setdomainname(d, strlen(d)));
    }
    if (!strcmp(op, "acct")) { return report(syscall(SYS_acct, "/nonexistent-sbx")); }
    if (!strcmp(op, "syslog")) { return report(syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0)); }
    if (!strcmp(op, "iopl")) { return report(syscall(SYS_iopl, 0)); }
    if (!strcmp(op, "ioperm")) { return report(syscall(SYS_ioperm, 0x80, 1, 0)); }
    if (!strcmp(op, "userfaultfd")) { return report(syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */)); }
    /* The parent process (sbx, under sbx): attach without stopping it, and read its memory. */
    if (!strcmp(op, "ptrace-parent")) { return report(ptrace(PTRACE_SEIZE, getppid(), 0, 0)); }
    if (!strcmp(op, "vmread-parent")) {    /* EFAULT still means access was granted (the address is ours) */
        char buf[8]; struct iovec local = {buf, sizeof buf}, remote = {buf, sizeof buf};
        return report(process_vm_readv(getppid(), &local, 1, &remote, 1, 0));
    }
    /* ---- process scope: acting on another process by pid ---- */
    if (!strcmp(op, "pidfd-kill")) {       /* pidfd_send_signal(pidfd_open(PID), SIG) */
        NEED(2); int fd = syscall(SYS_pidfd_open, atoi(a), 0); if (fd < 0) return report(-1);
        return report(syscall(SYS_pidfd_send_signal, fd, atoi(b), NULL, 0));
    }
    if (!strcmp(op, "procfd-kill")) {      /* pidfd_send_signal on an open /proc/PID directory */
        NEED(2); char path[64]; snprintf(path, sizeof path, "/proc/%s", a);
        int fd = open(path, O_RDONLY | O_DIRECTORY); if (fd < 0) return report(-1);
        return report(syscall(SYS_pidfd_send_signal, fd, atoi(b), NULL, 0));
    }
    if (!strcmp(op, "sigqueue")) {         /* sigqueue(PID, SIG, 7): rt_sigqueueinfo */
        NEED(2); union sigval v = { .sival_int = 7 }; return report(sigqueue(atoi(a), atoi(b), v));
    }
    if (!strcmp(op, "tgkill")) {           /* tgkill(TGID, TID, SIG) */
        NEED(3); return report(syscall(SYS_tgkill, atoi(a), atoi(b), atoi(argv[4])));
    }
    if (!strcmp(op, "tgsigqueue")) {       /* tgsigqueue TGID TID SIG: rt_tgsigqueueinfo with SI_QUEUE */
        NEED(3); siginfo_t si; memset(&si, 0, sizeof si);
        si.si_signo = atoi(argv[4]); si.si_code = SI_QUEUE; si.si_pid = getpid(); si.si_uid = getuid();
        return report(syscall(SYS_rt_tgsigqueueinfo, atoi(a), atoi(b), atoi(argv[4]), &si));
    }
    /* Memory and state of another process PID, the ptrace-like calls, each harmless:
       reads and writes at address 0 (EFAULT once allowed), no pages moved. */
    if (!strcmp(op, "vmread") || !strcmp(op, "vmwrite")) {
        NEED(1); char buf[1] = {0}; struct iovec local = {buf, 1}, remote = {NULL, 1};
        long r = !strcmp(op, "vmread") ? syscall(SYS_process_vm_readv, atoi(a), &local, 1, &remote, 1, 0)
                                       : syscall(SYS_process_vm_writev, atoi(a), &local, 1, &remote, 1, 0);
        return report(r);
    }
    if (!strcmp(op, "move-pages")) { NEED(1); return report(syscall(SYS_move_pages, atoi(a), 0, NULL, NULL, NULL, 0)); }
    if (!strcmp(op, "migrate-pages")) {    /* to the nodes it may use already: nothing moves */
        NEED(1); unsigned long nodes = 1; return report(syscall(SYS_migrate_pages, atoi(a), 64, &nodes, &nodes));
    }
    if (!strcmp(op, "robust-list")) {
        NEED(1); void *head; size_t len; return report(syscall(SYS_get_robust_list, atoi(a), &head, &len));
    }
    if (!strcmp(op, "kcmp")) { NEED(1); return report(syscall(SYS_kcmp, getpid(), atoi(a), 1 /* KCMP_VM */, 0, 0)); }
    if (!strcmp(op, "pidfd-getfd")) {      /* pidfd-getfd PID: take its fd 0 */
        NEED(1); int pfd = syscall(SYS_pidfd_open, atoi(a), 0); if (pfd < 0) return report(-1);
        return report(syscall(SYS_pidfd_getfd, pfd, 0, 0));
    }
    if (!strcmp(op, "process-madvise")) {  /* MADV_COLD on one page at address 0 of PID */
        NEED(1); int pfd = syscall(SYS_pidfd_open, atoi(a), 0); if (pfd < 0) return report(-1);
        struct iovec v = {NULL, 4096}; return report(syscall(SYS_process_madvise, pfd, &v, 1, 20 /* MADV_COLD */, 0));
    }
    if (!strcmp(op, "i386-kill")) {        /* kill(PID, SIG) through int 0x80 (i386 __NR_kill 37) */
        NEED(2); return report(int80(37, atoi(a), atoi(b), 0));
    }
    if (!strcmp(op, "i386-setpriority")) { /* setpriority(PRIO_PROCESS, PID, NICE) through int 0x80 (97) */
        NEED(2); return report(int80(97, PRIO_PROCESS, atoi(a), atoi(b)));
    }
    if (!strcmp(op, "tkill")) {            /* tkill(TID, SIG) */
        NEED(2); return report(syscall(SYS_tkill, atoi(a), atoi(b)));
    }
    if (!strcmp(op, "kill-parent-threads")) { /* tgkill(PPID, TID, 0) for every thread of the parent */
        char path[64]; snprintf(path, sizeof path, "/proc/%d/task", getppid());
        DIR *d = opendir(path); if (!d) return report(-1);
        struct dirent *e; long ret = -1; int tried = 0;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            tried++;
            ret = syscall(SYS_tgkill, getppid(), atoi(e->d_name), 0);
            if (ret == 0) break; /* one thread reached is enough to fail the test */
        }
        if (!tried) { errno = ENOENT; return report(-1); }
        return report(ret);
    }
    if (!strcmp(op, "sigio-to")) {         /* make SIGNAL (default SIGKILL) go to PID when a pipe is written */
        NEED(1); int p[2]; if (pipe(p) < 0) return report(-1);
        if (fcntl(p[0], F_SETOWN, atoi(a)) < 0) return report(-1);
        if (fcntl(p[0], F_SETSIG, b ? atoi(b) : SIGKILL) < 0) return report(-1);
        if (fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_ASYNC) < 0) return report(-1);
        return report(write(p[1], "x", 1));
    }
    if (!strcmp(op, "setown-ex")) {        /* fcntl(F_SETOWN_EX, {F_OWNER_PID, PID}) on a pipe */
        NEED(1); int p[2]; if (pipe(p) < 0) return report(-1);
        struct f_owner_ex o = { F_OWNER_PID, atoi(a) }; return report(fcntl(p[0], F_SETOWN_EX, &o));
    }
    if (!strcmp(op, "fiosetown")) {        /* ioctl(FIOSETOWN, &PID) on a socket */
        NEED(1); int fd = socket(AF_UNIX, SOCK_STREAM, 0); int pid = atoi(a);
        return report(ioctl(fd, FIOSETOWN, &pid));
    }
    if (!strcmp(op, "setpriority")) {      /* setpriority(PRIO_PROCESS, PID, NICE) */
        NEED(2); return report(setpriority(PRIO_PROCESS, atoi(a), atoi(b)));
    }
    if (!strcmp(op, "setpriority-pgrp")) { /* setpriority(PRIO_PGRP, 0 (own group), NICE) */
        NEED(1); return report(setpriority(PRIO_PGRP, 0, atoi(a)));
    }
    if (!strcmp(op, "getpriority")) {      /* the nice value of PID */
        NEED(1); errno = 0; int n = getpriority(PRIO_PROCESS, atoi(a));
        if (n == -1 && errno) return report(-1);
        printf("%d\n", n); return 0;
    }
    if (!strcmp(op, "prlimit-cpu")) {      /* prlimit(PID, RLIMIT_CPU, {SECONDS, unlimited}) */
        NEED(2); struct rlimit r = { (rlim_t)atol(b), RLIM_INFINITY }, old;
        return report(prlimit(atoi(a), RLIMIT_CPU, &r, &old));
    }
    if (!strcmp(op, "setaffinity")) {      /* sched_setaffinity(PID, the CPUs it has now) */
        NEED(1); cpu_set_t set; if (sched_getaffinity(atoi(a), sizeof set, &set) < 0) return report(-1);
        return report(sched_setaffinity(atoi(a), sizeof set, &set));
    }
    if (!strcmp(op, "setparam")) {         /* sched_setparam(PID, priority 0: what SCHED_OTHER has) */
        NEED(1); struct sched_param sp = { 0 }; return report(sched_setparam(atoi(a), &sp));
    }
    if (!strcmp(op, "setattr")) {          /* sched_setattr(PID, the policy and nice value it has now) */
        NEED(1);
        struct { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t prio; uint64_t runtime, deadline, period; } at;
        memset(&at, 0, sizeof at); at.size = sizeof at;
        errno = 0; int policy = sched_getscheduler(atoi(a)), nice = getpriority(PRIO_PROCESS, atoi(a));
        if (policy < 0 || errno) return report(-1);
        at.policy = policy; at.nice = nice;
        return report(syscall(SYS_sched_setattr, atoi(a), &at, 0));
    }
    if (!strcmp(op, "udp-cmsg")) {         /* udp-cmsg ADDR PORT LEVEL TYPE: sendmsg with a zeroed 8-byte LEVEL/TYPE message */
        NEED(4); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_DGRAM, 0); if (fd < 0) return report(-1);
        union { char buf[CMSG_SPACE(8)]; struct cmsghdr align; } u; memset(&u, 0, sizeof u);
        struct iovec iov = {"x", 1}; struct msghdr m; memset(&m, 0, sizeof m);
        m.msg_name = &ss; m.msg_namelen = len; m.msg_iov = &iov; m.msg_iovlen = 1;
        m.msg_control = u.buf; m.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m); c->cmsg_level = atoi(argv[4]); c->cmsg_type = atoi(argv[5]);
        c->cmsg_len = CMSG_LEN(8);
        return report(sendmsg(fd, &m, 0));
    }
    if (!strcmp(op, "setscheduler")) {     /* sched_setscheduler(PID, SCHED_BATCH) */
        NEED(1); struct sched_param sp = { 0 }; return report(sched_setscheduler(atoi(a), SCHED_BATCH, &sp));
    }
    if (!strcmp(op, "ioprio")) {           /* ioprio_set(IOPRIO_WHO_PROCESS, PID, best effort 7) */
        NEED(1); return report(syscall(SYS_ioprio_set, 1, atoi(a), (2 << 13) | 7));
    }
    if (!strcmp(op, "thread-affinity")) {  /* pthread_setaffinity_np on a second thread, and on itself */
        pthread_t t; if (pthread_create(&t, NULL, sleeper, NULL)) return report(-1);
        cpu_set_t set; sched_getaffinity(0, sizeof set, &set);
        int e = pthread_setaffinity_np(t, sizeof set, &set);
        if (!e) e = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        if (e) { errno = e; return report(-1); }
        return report(0);
    }
    if (!strcmp(op, "child-renice")) {     /* fork a child and renice it: inside the sandbox */
        pid_t c = fork(); if (c == 0) { pause(); _exit(0); }
        long r = setpriority(PRIO_PROCESS, c, 5);
        int saved = errno; int n = getpriority(PRIO_PROCESS, c);
        kill(c, SIGKILL); waitpid(c, NULL, 0);
        errno = saved; if (r < 0) return report(-1);
        printf("%d\n", n); return 0;
    }
    if (!strcmp(op, "child-signals")) {    /* signal a child through every call; it must die each time */
        const char *ways[] = { "kill", "pidfd", "sigqueue", "tgkill", NULL };
        for (int i = 0; ways[i]; i++) {
            pid_t c = fork(); if (c == 0) { pause(); _exit(0); }
            long r;
            if (i == 0) r = kill(c, SIGTERM);
            else if (i == 1) { int fd = syscall(SYS_pidfd_open, c, 0); r = syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0); }
            else if (i == 2) { union sigval v = { .sival_int = 1 }; r = sigqueue(c, SIGTERM, v); }
            else r = syscall(SYS_tgkill, c, c, SIGTERM);
            int st = 0; waitpid(c, &st, 0);
            if (r < 0 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM) { printf("%s failed\n", ways[i]); return 0; }
        }
        return report(0);
    }
    if (!strcmp(op, "kill-group") || !strcmp(op, "kill-all")) {
        /* kill(0 or -1, SIG) with SIG ignored here (a signal this probe can ignore), after forking a child
           that keeps the default: prints the call's result and whether the child died of it */
        NEED(1); int sig = atoi(a);
        if (sig != SIGKILL) signal(sig, SIG_IGN);
        int ready[2]; if (pipe(ready) < 0) return report(-1);
        pid_t c = fork();
        if (c == 0) { signal(sig, SIG_DFL); if (write(ready[1], "r", 1) != 1) _exit(1); for (;;) pause(); }
        char byte; if (read(ready[0], &byte, 1) != 1) return report(-1);
        long r = kill(!strcmp(op, "kill-group") ? 0 : -1, sig);
        int saved = errno;
        if (sig == 0) kill(c, SIGKILL);
        int st = 0; waitpid(c, &st, 0);
        errno = saved; report(r);
        printf("child %s\n", WIFSIGNALED(st) && WTERMSIG(st) == (sig ? sig : SIGKILL) ? "killed" : "lived");
        return 0;
    }
    /* ---- hardening, round two ---- */
    if (!strcmp(op, "udp-bind")) {         /* udp-bind ADDR PORT */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(ss.ss_family, SOCK_DGRAM, 0); if (fd < 0) return report(-1);
        return report(bind(fd, (struct sockaddr *)&ss, len));
    }
    if (!strcmp(op, "ip-options")) {       /* setsockopt(IP_OPTIONS) with one NOP option on a UDP socket */
        int fd = socket(AF_INET, SOCK_DGRAM, 0); unsigned char opt[4] = {1, 1, 1, 0};
        return report(setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, sizeof opt));
    }
    if (!strcmp(op, "ipv6-rthdr")) {       /* ipv6-rthdr [OPT]: setsockopt(IPV6_RTHDR or OPT) to nothing (clears it) */
        int fd = socket(AF_INET6, SOCK_DGRAM, 0); if (fd < 0) return report(-1);
        return report(setsockopt(fd, IPPROTO_IPV6, a ? atoi(a) : 57 /* IPV6_RTHDR */, NULL, 0));
    }
    if (!strcmp(op, "steal-ctty")) {       /* a new session takes stdin's terminal from the session it controls */
        if (setsid() < 0) return report(-1);
        return report(ioctl(0, TIOCSCTTY, 1));
    }
    if (!strcmp(op, "udp-pktinfo")) {      /* udp-pktinfo ADDR PORT: sendmsg choosing the source 127.0.0.1 (IP_PKTINFO) */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(AF_INET, SOCK_DGRAM, 0); if (fd < 0) return report(-1);
        union { char buf[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr align; } u; memset(&u, 0, sizeof u);
        struct iovec iov = {"x", 1}; struct msghdr m; memset(&m, 0, sizeof m);
        m.msg_name = &ss; m.msg_namelen = len; m.msg_iov = &iov; m.msg_iovlen = 1;
        m.msg_control = u.buf; m.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m); c->cmsg_level = IPPROTO_IP; c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        struct in_pktinfo pi; memset(&pi, 0, sizeof pi); pi.ipi_spec_dst.s_addr = htonl(INADDR_LOOPBACK);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        return report(sendmsg(fd, &m, 0));
    }
    if (!strcmp(op, "udp-retopts")) {      /* udp-retopts ADDR PORT: sendmsg with an IP_RETOPTS NOP option */
        NEED(2); struct sockaddr_storage ss; socklen_t len = inaddr(a, b, &ss);
        int fd = socket(AF_INET, SOCK_DGRAM, 0); if (fd < 0) return report(-1);
        union { char buf[CMSG_SPACE(4)]; struct cmsghdr align; } u; memset(&u, 0, sizeof u);
        struct iovec iov = {"x", 1}; struct msghdr m; memset(&m, 0, sizeof m);
        m.msg_name = &ss; m.msg_namelen = len; m.msg_iov = &iov; m.msg_iovlen = 1;
        m.msg_control = u.buf; m.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m); c->cmsg_level = IPPROTO_IP; c->cmsg_type = IP_RETOPTS;
        c->cmsg_len = CMSG_LEN(4); memset(CMSG_DATA(c), 1, 3); CMSG_DATA(c)[3] = 0;
        return report(sendmsg(fd, &m, 0));
    }
    if (!strcmp(op, "uring-fsetxattr")) {  /* uring-fsetxattr FILE NAME VALUE: set an xattr through io_uring */
        NEED(3); int fd = open(a, O_RDONLY); if (fd < 0) return report(-1);
        long r = uring_fsetxattr(fd, b, argv[4]);
        if (r < 0) { errno = -r; return report(-1); }
        return report(0);
    }
    if (!strcmp(op, "adjtimex")) {         /* adjtimex with modes 0: reads the clock's state */
        struct timex tx; memset(&tx, 0, sizeof tx); return report(adjtimex(&tx));
    }
    if (!strcmp(op, "clock_adjtime")) {    /* clock_adjtime(CLOCK_REALTIME), modes 0 */
        struct timex tx; memset(&tx, 0, sizeof tx); return report(syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
    }
    if (!strcmp(op, "i386-stime")) { return report(int80(25, 0, 0, 0)); /* NULL: EFAULT if it gets that far */ }
    if (!strcmp(op, "i386-adjtimex")) { return report(int80(124, 0, 0, 0)); }
    if (!strcmp(op, "i386-clock_adjtime")) { return report(int80(343, 1234, 0, 0)); /* no such clock */ }
    if (!strcmp(op, "i386-settimeofday")) { return report(int80(79, 0, 0, 0)); /* NULL, NULL: changes nothing */ }
    if (!strcmp(op, "i386-clock_settime64")) { return report(int80(404, 1234, 0, 0)); /* no such clock */ }
    if (!strcmp(op, "i386-clock_adjtime64")) { return report(int80(405, 1234, 0, 0)); }
    if (!strcmp(op, "fanotify")) {         /* fanotify_init as an unprivileged user may (FAN_REPORT_FID) */
        return report(syscall(SYS_fanotify_init, 0x200 /* FAN_REPORT_FID */, O_RDONLY));
    }
    if (!strcmp(op, "inotify-watch")) {    /* inotify-watch DIR [CREATE]: a watch; with CREATE, make a file and read the event */
        NEED(1); int in = inotify_init1(0); if (in < 0) return report(-1);
        int wd = inotify_add_watch(in, a, IN_CREATE);
        if (wd < 0 || !b) return report(wd);
        char path[4096]; snprintf(path, sizeof path, "%s/%s.%d", a, b, getpid());
        int f = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600); if (f < 0) return report(-1); close(f); unlink(path);
        char buf[4096] __attribute__((aligned(8))); ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0) return report(-1);
        struct inotify_event *ev = (struct inotify_event *)buf;
        printf("event %s\n", ev->len && strchr(ev->name, '.') ? (*strchr(ev->name, '.') = 0, ev->name) : "?"); return 0;
    }
    if (!strcmp(op, "vhangup")) { return report(vhangup()); }
    if (!strcmp(op, "tty-ioctl")) {        /* tty-ioctl NAME: a terminal ioctl on a new pty's slave */
        NEED(1); int master = posix_openpt(O_RDWR | O_NOCTTY); if (master < 0) return report(-1);
        grantpt(master); unlockpt(master);
        int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY); if (slave < 0) return report(-1);
        if (!strcmp(a, "TIOCSETD")) { int ldisc = 0; return report(ioctl(slave, TIOCSETD, &ldisc)); }
        if (!strcmp(a, "TIOCSCTTY")) { setsid(); return report(ioctl(slave, TIOCSCTTY, 1)); }
        fprintf(stderr, "probe: unknown tty ioctl %s\n", a); return 2;
    }
    if (!strcmp(op, "null-ioctl")) {       /* null-ioctl NAME: on /dev/null (not a terminal: ENOTTY if it gets there) */
        NEED(1); int fd = open("/dev/null", O_RDWR);
        unsigned long req = !strcmp(a, "TIOCCONS") ? TIOCCONS : !strcmp(a, "TIOCVHANGUP") ? 0x5437 : 0;
        if (!req) { fprintf(stderr, "probe: unknown ioctl %s\n", a); return 2; }
        return report(ioctl(fd, req, 0));
    }
    if (!strcmp(op, "unix-listen")) {      /* unix-listen PATH N: accept N connections on a new socket at PATH */
        NEED(2); int fd = socket(AF_UNIX, SOCK_STREAM, 0); struct sockaddr_un un; memset(&un, 0, sizeof un);
        un.sun_family = AF_UNIX; strncpy(un.sun_path, a, sizeof un.sun_path - 1);
        if (bind(fd, (struct sockaddr *)&un, sizeof un) < 0 || listen(fd, 8) < 0) return report(-1);
        printf("listening\n"); fflush(stdout);
        for (int i = 0, n = atoi(b); i < n; i++) { alarm(10); int c = accept(fd, NULL, NULL); if (c >= 0) close(c); }
        return 0;
    }
    if (!strcmp(op, "ioctl-nested")) {     /* the request an inner sbx sends the enclosing one, with nothing */
        return report(ioctl(-1, 0x53425802 /* DONE */, 0));
    }
    if (!strcmp(op, "ptypeer-on")) {       /* ptypeer-on FILE: TIOCGPTPEER on FILE (a pty master only) */
        NEED(1); int fd = open(a, O_RDWR); if (fd < 0) return report(-1);
        return report(ioctl(fd, TIOCGPTPEER, O_RDWR | O_NOCTTY));
    }
    if (!strcmp(op, "openpty")) {          /* openpty(), then write to the new terminal through its slave */
        int m, sl; if (openpty(&m, &sl, NULL, NULL, NULL) < 0) return report(-1);
        return report(write(sl, "x", 1));
    }
    if (!strcmp(op, "caps")) {             /* the effective capability set, in hex */
        FILE *f = fopen("/proc/self/status", "r"); char line[256];
        while (f && fgets(line, sizeof line, f)) if (!strncmp(line, "CapEff:", 7)) { printf("%s", line + 8); return 0; }
        return report(-1);
    }
    if (!strcmp(op, "lo-up")) {            /* bring lo up (SIOCSIFFLAGS), as `ip link set lo up`, for a new netns */
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0); struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) return report(-1);
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        return report(ioctl(fd, SIOCSIFFLAGS, &ifr));
    }
    if (!strcmp(op, "lo-mtu")) {           /* SIOCSIFMTU on lo to the MTU it has (changes nothing) */
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0); struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) return report(-1);
        return report(ioctl(fd, SIOCSIFMTU, &ifr));
    }
    if (!strcmp(op, "connect-flood")) {    /* connect-flood ADDR PORT N: N threads connect (and block); "started", then 3 s */
        NEED(3); flood_addr = a; flood_port = b; int n = atoi(argv[4]);
        for (int i = 0; i < n; i++) { pthread_t t; pthread_create(&t, NULL, flood_connect, NULL); }
        printf("started\n"); fflush(stdout); sleep(3); return 0;
    }
    /* ---- truncation and devices ---- */
    if (!strcmp(op, "open-trunc-ro")) {    /* open(PATH, O_RDONLY | O_TRUNC): truncates without write access */
        NEED(1); return report(open(a, O_RDONLY | O_TRUNC));
    }
    if (!strcmp(op, "openat2-trunc")) {    /* openat2(PATH, O_WRONLY | O_TRUNC) */
        NEED(1); struct { uint64_t flags, mode, resolve; } how = { O_WRONLY | O_TRUNC, 0, 0 };
        return report(syscall(SYS_openat2, AT_FDCWD, a, &how, sizeof how));
    }
    if (!strcmp(op, "openat2-read")) {     /* openat2(PATH, O_RDONLY) */
        NEED(1); struct { uint64_t flags, mode, resolve; } how = { O_RDONLY, 0, 0 };
        return report(syscall(SYS_openat2, AT_FDCWD, a, &how, sizeof how));
    }
    if (!strcmp(op, "blk-ioctl")) {        /* open the block device PATH read-only, then BLKGETSIZE64 */
        NEED(1); int fd = open(a, O_RDONLY);
        if (fd < 0) { printf("open %s\n", errname(errno)); return 0; }
        uint64_t size; return report(ioctl(fd, _IOR(0x12, 114, size_t), &size));
    }
    if (!strcmp(op, "rnd-count")) {        /* RNDGETENTCNT on /dev/urandom: reads the entropy count */
        int fd = open("/dev/urandom", O_RDONLY);
        if (fd < 0) { printf("open %s\n", errname(errno)); return 0; }
        int count; return report(ioctl(fd, 0x80045200, &count));
    }
    if (!strcmp(op, "rnd-credit")) {       /* RNDADDTOENTCNT of 0 bits on /dev/urandom (root; changes nothing) */
        int fd = open("/dev/urandom", O_RDONLY);
        if (fd < 0) { printf("open %s\n", errname(errno)); return 0; }
        int zero = 0; return report(ioctl(fd, 0x40045201, &zero));
    }
    fprintf(stderr, "probe: unknown op %s\n", op);
    return 2;
}
