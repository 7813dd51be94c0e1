/* refuse: run a command under a seccomp filter that refuses some system
 * calls with an errno, as a container's seccomp profile does (Docker's
 * default refuses pidfd_getfd with EPERM without CAP_SYS_PTRACE; moby
 * 20.10's refuses process_vm_readv too; runc answers ENOSYS for calls newer
 * than the profile), for sbx's integration tests.
 *
 *   refuse NAME=ERRNO... -- COMMAND [ARGS...]
 *
 * NAME is one of the calls in the table below, ERRNO one of EPERM, EACCES,
 * ENOSYS, EINVAL. Sets no_new_privs (so it works unprivileged), installs
 * the filter (native calls only; everything else is allowed) and execs
 * COMMAND. Exits 2 on bad usage, 125 if the filter cannot be installed.
 * Raw BPF: no libseccomp.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "refuse: unsupported architecture"
#endif

/* Numbers the same on x86-64 and arm64 (the generic table's). */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static const struct { const char *name; long nr; } CALLS[] = {
    {"pidfd_getfd", SYS_pidfd_getfd},
    {"pidfd_open", SYS_pidfd_open},
    {"process_vm_readv", SYS_process_vm_readv},
    {"process_vm_writev", SYS_process_vm_writev},
    {"openat2", SYS_openat2},
    {"seccomp", SYS_seccomp},
    {"ptrace", SYS_ptrace},
};

static const struct { const char *name; int errno_; } ERRNOS[] = {
    {"EPERM", EPERM}, {"EACCES", EACCES}, {"ENOSYS", ENOSYS}, {"EINVAL", EINVAL},
};

#define MAX_RULES 16

static int usage(const char *why) {
    fprintf(stderr, "refuse: %s\nusage: refuse NAME=ERRNO... -- COMMAND [ARGS...]\n", why);
    return 2;
}

int main(int argc, char **argv) {
    long nrs[MAX_RULES];
    int errnos[MAX_RULES];
    int rules = 0, i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || rules == MAX_RULES) return usage(argv[i]);
        *eq = 0;
        long nr = -1;
        int e = 0;
        for (size_t c = 0; c < sizeof CALLS / sizeof CALLS[0]; c++)
            if (!strcmp(CALLS[c].name, argv[i])) nr = CALLS[c].nr;
        for (size_t c = 0; c < sizeof ERRNOS / sizeof ERRNOS[0]; c++)
            if (!strcmp(ERRNOS[c].name, eq + 1)) e = ERRNOS[c].errno_;
        if (nr < 0 || !e) return usage("unknown call or errno");
        nrs[rules] = nr;
        errnos[rules] = e;
        rules++;
    }
    if (i + 1 >= argc) return usage("no command");

    /* arch check, load nr, then two instructions per rule, then allow. */
    struct sock_filter prog[4 + 2 * MAX_RULES];
    int n = 0;
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    /* Another architecture: jump to the final allow. */
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, (unsigned char)(1 + 2 * rules));
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (int r = 0; r < rules; r++) {
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[r], 0, 1);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (errnos[r] & SECCOMP_RET_DATA));
    }
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog fprog = {.len = (unsigned short)n, .filter = prog};

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        perror("refuse: no_new_privs");
        return 125;
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
        perror("refuse: seccomp");
        return 125;
    }
    execvp(argv[i + 1], argv + i + 1);
    perror("refuse: exec");
    return 127;
}
