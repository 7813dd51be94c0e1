/* landlock_shim: an LD_PRELOAD library for sbx's tests that makes a process
 * see an older Landlock ABI, or none, on a newer kernel.
 *
 *   SBX_SHIM_LANDLOCK=N         (1..7) landlock_create_ruleset(NULL, 0, VERSION)
 *                               answers N; what an ABI-N kernel would refuse
 *                               (newer rights, TCP rules, scopes, flags) fails as
 *                               it would there. Everything else reaches the real
 *                               kernel, which then enforces exactly what was asked.
 *   SBX_SHIM_LANDLOCK=none      every landlock_* call fails with ENOSYS
 *   SBX_SHIM_LANDLOCK=disabled  every landlock_* call fails with EOPNOTSUPP
 *                               (built in, not enabled at boot)
 *
 * It interposes libc's syscall(), which sbx and the landlock crate use for
 * Landlock. In sbx itself (/proc/self/exe named "sbx") it removes both
 * variables from the environment at load, so the sandboxed command — and a
 * nested sbx — sees neither; wrappers such as setpriv pass them on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define CREATE_RULESET_VERSION (1U << 0)
#define CREATE_RULESET_ERRATA (1U << 1)
#define RULE_PATH_BENEATH 1
#define RULE_NET_PORT 2

typedef long (*syscall_fn)(long, ...);

static syscall_fn real_syscall;
/* 0: pass through; 1..7: that ABI; -ENOSYS / -EOPNOTSUPP: no Landlock. */
static int mode;

/* The filesystem rights of each ABI (bit 13 REFER: ABI 2, 14 TRUNCATE: 3, 15 IOCTL_DEV: 5). */
static uint64_t fs_rights(int abi) {
    uint64_t all = (1ULL << 13) - 1;
    if (abi >= 2) all |= 1ULL << 13;
    if (abi >= 3) all |= 1ULL << 14;
    if (abi >= 5) all |= 1ULL << 15;
    return all;
}

__attribute__((constructor)) static void init(void) {
    real_syscall = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
    const char *value = getenv("SBX_SHIM_LANDLOCK");
    if (value) {
        if (!strcmp(value, "none")) mode = -ENOSYS;
        else if (!strcmp(value, "disabled")) mode = -EOPNOTSUPP;
        else if (value[0] >= '1' && value[0] <= '7' && value[1] == 0) mode = value[0] - '0';
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        const char *base = strrchr(exe, '/');
        if (base && !strcmp(base + 1, "sbx")) {
            unsetenv("LD_PRELOAD");
            unsetenv("SBX_SHIM_LANDLOCK");
        }
    }
}

static long fail(int err) {
    errno = err;
    return -1;
}

/* Whether an ABI-`mode` kernel answers `nr` differently from this one, and then how (in *answer). */
static int answered(long nr, long a, long b, long c, long *answer) {
    if (mode < 0) {
        *answer = fail(-mode);
        return 1;
    }
    if (nr == SYS_landlock_create_ruleset) {
        const uint64_t *attr = (const uint64_t *)a;
        size_t size = (size_t)b;
        unsigned flags = (unsigned)c;
        if (!attr && size == 0 && flags == CREATE_RULESET_VERSION) *answer = mode;
        else if (flags & ~(unsigned)(CREATE_RULESET_VERSION | (mode >= 7 ? CREATE_RULESET_ERRATA : 0)))
            *answer = fail(EINVAL);
        else if (attr && size >= 8 && (attr[0] & ~fs_rights(mode))) *answer = fail(EINVAL);
        /* Fields an older kernel does not know must be zero (else E2BIG). */
        else if (attr && size >= 16 && mode < 4 && attr[1]) *answer = fail(E2BIG);
        else if (attr && size >= 24 && mode < 6 && attr[2]) *answer = fail(E2BIG);
        else return 0;
        return 1;
    }
    if (nr == SYS_landlock_add_rule) {
        if (b == RULE_NET_PORT && mode < 4) {
            *answer = fail(EINVAL);
            return 1;
        }
        if (b == RULE_PATH_BENEATH && c) {
            uint64_t allowed;
            memcpy(&allowed, (const void *)c, sizeof allowed);
            if (allowed & ~fs_rights(mode)) {
                *answer = fail(EINVAL);
                return 1;
            }
        }
        return 0;
    }
    if (nr == SYS_landlock_restrict_self && b && mode < 7) {
        *answer = fail(EINVAL);
        return 1;
    }
    return 0;
}

long syscall(long nr, ...) {
    va_list ap;
    va_start(ap, nr);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    long answer;
    if (mode != 0 &&
        (nr == SYS_landlock_create_ruleset || nr == SYS_landlock_add_rule || nr == SYS_landlock_restrict_self) &&
        answered(nr, a, b, c, &answer))
        return answer;
    return real_syscall(nr, a, b, c, d, e, f);
}
