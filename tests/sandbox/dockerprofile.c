/* SPDX-License-Identifier: MIT */
/*
 * dockerprofile.c: sbx-dockerprofile, a stand-in for Docker loading sandbox/docker-seccomp.json.
 * No Docker engine exists on the project's machine, so this applies the profile the way moby
 * does (as we understand it: the native architecture only; an entry applies when its includes
 * match and its excludes do not, for Docker's default capability set; names libseccomp does not
 * know are skipped; several args in one entry must all match) and execs the zygote named by
 * SBX_TEST_ZYGOTE with its own arguments.
 *
 * SBX_PROFILE_STOCK=1 leaves out the entries whose comment starts with "sessionpool", which
 * turns the profile back into Docker's default. SBX_PROFILE_DOCKER_CAPS=1 also reduces the
 * capabilities to Docker's default set (no CAP_SYS_ADMIN), as root in a container has them.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/* moby's DefaultCapabilities(). */
static const char *const docker_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",	       "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",	       "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",	   "CAP_AUDIT_WRITE",
};
static const int docker_cap_numbers[] = {
    CAP_CHOWN,	 CAP_DAC_OVERRIDE, CAP_FSETID,		 CAP_FOWNER,
    CAP_MKNOD,	 CAP_NET_RAW,	   CAP_SETGID,		 CAP_SETUID,
    CAP_SETFCAP, CAP_SETPCAP,	   CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
    CAP_KILL,	 CAP_AUDIT_WRITE,
};

static bool has_cap(const char *name)
{
	for (size_t i = 0; i < sizeof(docker_caps) / sizeof(docker_caps[0]); i++)
		if (strcmp(docker_caps[i], name) == 0)
			return true;
	return false;
}

static bool any_cap(const cJSON *caps)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, caps)
	{
		if (cJSON_IsString(c) && has_cap(c->valuestring))
			return true;
	}
	return false;
}

static bool has_arch(const cJSON *arches)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, arches)
	{
		if (cJSON_IsString(a) &&
		    (!strcmp(a->valuestring, "amd64") || !strcmp(a->valuestring, "x86_64")))
			return true;
	}
	return false;
}

static bool kernel_at_least(const char *want)
{
	struct utsname u;
	int a = 0, b = 0, x = 0, y = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &a, &b) != 2 ||
	    sscanf(want, "%d.%d", &x, &y) != 2)
		return false;
	return a > x || (a == x && b >= y);
}

static bool applies(const cJSON *e, bool stock)
{
	const cJSON *comment = cJSON_GetObjectItemCaseSensitive(e, "comment");
	if (stock && cJSON_IsString(comment) && !strncmp(comment->valuestring, "sessionpool", 11))
		return false;
	const cJSON *inc = cJSON_GetObjectItemCaseSensitive(e, "includes");
	const cJSON *exc = cJSON_GetObjectItemCaseSensitive(e, "excludes");
	const cJSON *v;
	if ((v = cJSON_GetObjectItemCaseSensitive(inc, "caps")) && !any_cap(v))
		return false;
	if ((v = cJSON_GetObjectItemCaseSensitive(inc, "arches")) && !has_arch(v))
		return false;
	if ((v = cJSON_GetObjectItemCaseSensitive(inc, "minKernel")) && cJSON_IsString(v) &&
	    !kernel_at_least(v->valuestring))
		return false;
	if ((v = cJSON_GetObjectItemCaseSensitive(exc, "caps")) && any_cap(v))
		return false;
	if ((v = cJSON_GetObjectItemCaseSensitive(exc, "arches")) && has_arch(v))
		return false;
	return true;
}

static int op_of(const char *name, enum scmp_compare *out)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
		   {"SCMP_CMP_LT", SCMP_CMP_LT},
		   {"SCMP_CMP_LE", SCMP_CMP_LE},
		   {"SCMP_CMP_EQ", SCMP_CMP_EQ},
		   {"SCMP_CMP_GE", SCMP_CMP_GE},
		   {"SCMP_CMP_GT", SCMP_CMP_GT},
		   {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i].name, name)) {
			*out = ops[i].op;
			return 0;
		}
	return -EINVAL;
}

static int add_entry(scmp_filter_ctx ctx, const cJSON *e, unsigned default_errno)
{
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(e, "action");
	const cJSON *errno_ret = cJSON_GetObjectItemCaseSensitive(e, "errnoRet");
	uint32_t act;
	if (!cJSON_IsString(action))
		return -EINVAL;
	if (!strcmp(action->valuestring, "SCMP_ACT_ALLOW"))
		act = SCMP_ACT_ALLOW;
	else if (!strcmp(action->valuestring, "SCMP_ACT_ERRNO"))
		act = SCMP_ACT_ERRNO(cJSON_IsNumber(errno_ret) ? (unsigned)errno_ret->valuedouble
							       : default_errno);
	else
		return -EINVAL;
	struct scmp_arg_cmp cmp[6];
	unsigned ncmp = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "args"))
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(a, "index");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(a, "value");
		const cJSON *val2 = cJSON_GetObjectItemCaseSensitive(a, "valueTwo");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(a, "op");
		enum scmp_compare o;
		if (ncmp == 6 || !cJSON_IsNumber(idx) || !cJSON_IsNumber(val) ||
		    !cJSON_IsString(op) || op_of(op->valuestring, &o) < 0)
			return -EINVAL;
		cmp[ncmp++] = (struct scmp_arg_cmp){
		    (unsigned)idx->valuedouble, o, (scmp_datum_t)val->valuedouble,
		    cJSON_IsNumber(val2) ? (scmp_datum_t)val2->valuedouble : 0};
	}
	const cJSON *n;
	cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(e, "names"))
	{
		int nr = cJSON_IsString(n) ? seccomp_syscall_resolve_name(n->valuestring)
					   : __NR_SCMP_ERROR;
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue; /* not a system call of this architecture */
		int r = seccomp_rule_add_array(ctx, act, nr, ncmp, cmp);
		if (r < 0 && r != -EEXIST) {
			fprintf(stderr, "sbx-dockerprofile: %s: %s\n", n->valuestring,
				strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Root in a container: Docker's default capabilities, no others. */
static int docker_caps_only(void)
{
	uint64_t keep = 0;
	for (size_t i = 0; i < sizeof(docker_cap_numbers) / sizeof(docker_cap_numbers[0]); i++)
		keep |= 1ull << docker_cap_numbers[i];
	for (int c = 0; c <= 63; c++) {
		if (!(keep & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return -errno;
	}
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {
	    {(uint32_t)keep, (uint32_t)keep, (uint32_t)keep},
	    {(uint32_t)(keep >> 32), (uint32_t)(keep >> 32), (uint32_t)(keep >> 32)}};
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *stock_env = getenv("SBX_PROFILE_STOCK");
	const char *caps_env = getenv("SBX_PROFILE_DOCKER_CAPS");
	bool stock = stock_env && *stock_env == '1';
	FILE *f = fopen(SBX_DOCKER_PROFILE, "re");
	static char text[1 << 20];
	size_t len = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	cJSON *prof = cJSON_ParseWithLength(text, len);
	if (!prof) {
		fprintf(stderr, "sbx-dockerprofile: cannot read %s\n", SBX_DOCKER_PROFILE);
		return 125;
	}
	const cJSON *dflt = cJSON_GetObjectItemCaseSensitive(prof, "defaultErrnoRet");
	unsigned default_errno = cJSON_IsNumber(dflt) ? (unsigned)dflt->valuedouble : EPERM;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(default_errno));
	int r = ctx ? 0 : -ENOMEM;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(prof, "syscalls"))
	{
		if (r == 0 && applies(e, stock))
			r = add_entry(ctx, e, default_errno);
	}
	cJSON_Delete(prof);
	/* Like runc: the filter goes on while we still have every capability, then they go. */
	if (r == 0 && geteuid() == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r == 0)
		r = seccomp_load(ctx);
	if (r == 0 && caps_env && *caps_env == '1')
		r = docker_caps_only();
	if (r < 0) {
		fprintf(stderr, "sbx-dockerprofile: %s\n", strerror(-r));
		return 125;
	}
	seccomp_release(ctx);
	argv[0] = (char *)SBX_TEST_ZYGOTE;
	execv(SBX_TEST_ZYGOTE, argv);
	fprintf(stderr, "sbx-dockerprofile: exec %s: %s\n", SBX_TEST_ZYGOTE, strerror(errno));
	return 126;
}
