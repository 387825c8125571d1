/* SPDX-License-Identifier: MIT */
/*
 * dockerlike.c: sbx-dockerlike, a test stand-in for Docker's default seccomp profile (sandbox-notes
 * pitfall 20): namespaces, mounts, pivot_root and setns fail with EPERM, clone() with namespace
 * flags with EPERM and clone3() with ENOSYS. It installs that filter and execs the zygote named by
 * SBX_TEST_ZYGOTE with its own arguments, so the zygote's AUTO mode must fall back to DEGRADED.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	(void)argc;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	const int ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
		       CLONE_NEWNET | CLONE_NEWCGROUP;
	int r = ctx ? 0 : -ENOMEM;
	static const int refused[] = {SCMP_SYS(unshare), SCMP_SYS(mount), SCMP_SYS(umount2),
				      SCMP_SYS(pivot_root), SCMP_SYS(setns)};
	for (size_t i = 0; r == 0 && i < sizeof(refused) / sizeof(refused[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), refused[i], 0);
	for (int bit = 0; r == 0 && bit < 32; bit++) {
		if (!(ns & (1 << bit)))
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, 1u << bit, 1u << bit));
	}
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0 && geteuid() == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r == 0)
		r = seccomp_load(ctx);
	if (r < 0) {
		fprintf(stderr, "sbx-dockerlike: seccomp: %s\n", strerror(-r));
		return 125;
	}
	seccomp_release(ctx);
	argv[0] = (char *)SBX_TEST_ZYGOTE;
	execv(SBX_TEST_ZYGOTE, argv);
	fprintf(stderr, "sbx-dockerlike: exec %s: %s\n", SBX_TEST_ZYGOTE, strerror(errno));
	return 126;
}
