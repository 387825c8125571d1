/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c: per-slot memory and pids control groups (see cgroup.h).
 *
 * Layout: <zygote's group>/sessionpool-<zygote pid>/slot-<n>, in the v2 hierarchy, or in each of
 * the v1 memory and pids hierarchies. Groups of zygotes that died without cleaning up (their pid
 * is gone) are removed at start-up. Session processes are moved in by the zygote when a standby
 * process is given its slot, after its namespaces were made: without a cgroup namespace that
 * changes nothing for the limits, and the standby's memory, which is charged to the zygote's
 * group already, is the zygote's own copy-on-write image anyway.
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	if (n < 0)
		return -errno;
	return (size_t)n == strlen(text) ? 0 : -EIO;
}

static int write_u64(const char *dir, const char *file, uint64_t v)
{
	char text[32];
	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	return write_text(dir, file, text);
}

static bool has_token(const char *list, const char *token, char sep)
{
	size_t n = strlen(token);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, sep);
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && (p[len - 1] == '\n' || p[len - 1] == ' '))
			len--;
		if (len == n && strncmp(p, token, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* Our group in the hierarchy with |controller| (v1), or the v2 group (controller NULL). */
static int own_group(const char *controller, char *buf, size_t n)
{
	cleanup_fclose FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX + 128];
	while (f && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool match = controller ? has_token(c1 + 1, controller, ',')
					: (strncmp(line, "0:", 2) == 0 && c1[1] == '\0');
		if (!match)
			continue;
		char *path = c2 + 1;
		path[strcspn(path, "\n")] = '\0';
		snprintf(buf, n, "%s", path);
		return 0;
	}
	return -ENOENT;
}

/* The directory of group |group| in the hierarchy mounted with |fstype| (and |controller|). */
static int group_dir(const char *fstype, const char *controller, const char *group, char *buf,
		     size_t n)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	while (f && fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mnt[PATH_MAX], type[64], opts[1024];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", type, opts) != 2)
			continue;
		if (strcmp(type, fstype) != 0 || (controller && !has_token(opts, controller, ',')))
			continue;
		if (strchr(mnt, '\\') || strchr(root, '\\'))
			continue; /* octal escapes: not ours to guess */
		/* A mount of a sub-tree (a cgroup namespace, a bind): the group must lie in it. */
		size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (rl && (strncmp(group, root, rl) != 0 || (group[rl] && group[rl] != '/')))
			continue;
		int len = snprintf(buf, n, "%s%s", mnt, group + rl);
		if (len < 0 || (size_t)len >= n)
			return -ENAMETOOLONG;
		size_t l = strlen(buf);
		while (l > 1 && buf[l - 1] == '/')
			buf[--l] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* Kills every process listed in |dir|/cgroup.procs until none is left (bounded). */
static void kill_procs(const char *dir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int round = 0; round < 2000; round++) {
		cleanup_fclose FILE *f = fopen(path, "re");
		int pid, found = 0;
		while (f && fscanf(f, "%d", &pid) == 1) {
			if (pid > 0 && kill(pid, SIGKILL) == 0)
				found++;
		}
		if (!found)
			return;
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Removes |parent|/slot-* and |parent|, killing what is in them first. */
static void remove_tree(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "slot-", 5) != 0)
			continue;
		char sub[PATH_MAX + 300];
		snprintf(sub, sizeof(sub), "%s/%s", parent, e->d_name);
		kill_procs(sub);
		for (int i = 0; i < 100 && rmdir(sub) < 0 && errno == EBUSY; i++) {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (d)
		closedir(d);
	rmdir(parent);
}

/* Removes the sessionpool-<pid> groups below |dir| whose zygote is gone. */
static void remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		if (strncmp(e->d_name, "sessionpool-", 12) != 0)
			continue;
		long pid = strtol(e->d_name + 12, &end, 10);
		if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char sub[PATH_MAX + 300];
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		remove_tree(sub);
	}
	if (d)
		closedir(d);
}

/* Makes |dir|/sessionpool-<pid> into |out|. */
static int make_parent(const char *dir, char *out, size_t n)
{
	remove_stale(dir);
	int len = snprintf(out, n, "%s/sessionpool-%d", dir, (int)getpid());
	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int init_v2(struct cgroups *cg)
{
	char group[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 32];
	int r;

	if (own_group(NULL, group, sizeof(group)) < 0 ||
	    group_dir("cgroup2", NULL, group, dir, sizeof(dir)) < 0) {
		snprintf(cg->reason, sizeof(cg->reason), "no cgroup v2 hierarchy");
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	char ctl[512] = "";
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f || !fgets(ctl, sizeof(ctl), f) || !has_token(ctl, "memory", ' ') ||
	    !has_token(ctl, "pids", ' ')) {
		snprintf(cg->reason, sizeof(cg->reason),
			 "cgroup v2 has no memory and pids controllers here");
		return -ENOENT;
	}
	/* Our group must hand the controllers down; with processes in it (the emulator's own
	 * group) the kernel refuses unless that was done for us (delegation). */
	r = write_text(dir, "cgroup.subtree_control", "+memory +pids");
	if (r < 0) {
		snprintf(cg->reason, sizeof(cg->reason),
			 "cgroup v2: cannot enable memory and pids below %.150s (%s)", dir,
			 strerror(-r));
		return r;
	}
	r = make_parent(dir, cg->mem, sizeof(cg->mem));
	if (r == 0)
		r = write_text(cg->mem, "cgroup.subtree_control", "+memory +pids");
	if (r < 0) {
		snprintf(cg->reason, sizeof(cg->reason), "cgroup v2: %.150s: %s", cg->mem,
			 strerror(-r));
		rmdir(cg->mem);
		cg->mem[0] = '\0';
		return r;
	}
	snprintf(cg->pids, sizeof(cg->pids), "%s", cg->mem);
	cg->version = 2;
	return 0;
}

static int init_v1(struct cgroups *cg)
{
	char group[PATH_MAX], dir[PATH_MAX];
	const char *ctls[2] = {"memory", "pids"};
	char *out[2] = {cg->mem, cg->pids};
	int r = -ENOENT;

	for (int i = 0; i < 2; i++) {
		if (own_group(ctls[i], group, sizeof(group)) < 0 ||
		    group_dir("cgroup", ctls[i], group, dir, sizeof(dir)) < 0)
			continue;
		r = make_parent(dir, out[i], PATH_MAX);
		if (r < 0) {
			snprintf(cg->reason, sizeof(cg->reason), "cgroup v1 %s: %s", ctls[i],
				 strerror(-r));
			out[i][0] = '\0';
		}
	}
	if (!cg->mem[0] && !cg->pids[0]) {
		if (!cg->reason[0])
			snprintf(cg->reason, sizeof(cg->reason),
				 "no memory or pids controller is mounted");
		return r < 0 ? r : -ENOENT;
	}
	cg->version = 1;
	return 0;
}

int cg_init(struct cgroups *cg, uint64_t mem_limit, unsigned pids_max)
{
	char v2why[256] = "";
	memset(cg, 0, sizeof(*cg));
	cg->mem_limit = mem_limit;
	cg->pids_max = pids_max;
	if (geteuid() != 0) {
		snprintf(cg->reason, sizeof(cg->reason), "not running as root");
		return 0;
	}
	if (init_v2(cg) == 0)
		return 0;
	snprintf(v2why, sizeof(v2why), "%s", cg->reason);
	cg->reason[0] = '\0';
	if (init_v1(cg) == 0)
		return 0;
	size_t len = strlen(cg->reason);
	snprintf(cg->reason + len, sizeof(cg->reason) - len, "; %s", v2why);
	return 0;
}

void cg_describe(const struct cgroups *cg, char *buf, size_t n)
{
	char mem[64] = "", pids[64] = "";
	if (!cg->version) {
		snprintf(buf, n, "off (%s)", cg->reason);
		return;
	}
	if (cg->mem[0])
		snprintf(mem, sizeof(mem), "memory %llu MiB",
			 (unsigned long long)(cg->mem_limit >> 20));
	if (cg->pids[0])
		snprintf(pids, sizeof(pids), "pids %u", cg->pids_max);
	snprintf(buf, n, "v%d (%s%s%s)", cg->version, mem, mem[0] && pids[0] ? ", " : "", pids);
}

static void slot_dir(const char *parent, unsigned slot, char *buf, size_t n)
{
	snprintf(buf, n, "%s/slot-%u", parent, slot);
}

/* v1: an eventfd signalled when the memory group |dir| runs out of memory. */
static int oom_eventfd(const char *dir)
{
	char path[PATH_MAX + 64], reg[64];
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
	cleanup_close int ofd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(reg, sizeof(reg), "%d %d", efd, ofd);
	int r = ofd < 0 ? -errno : write_text(dir, "cgroup.event_control", reg);
	if (r < 0) {
		close(efd);
		return r;
	}
	return efd;
}

static int slot_make(struct cgroups *cg, unsigned slot, struct sp_err *err)
{
	char dir[PATH_MAX + 32];
	int r;

	if (slot >= cg->nslots) {
		size_t n = cg->nslots ? cg->nslots : 64;
		while (n <= slot)
			n *= 2;
		struct cg_slot *v = realloc(cg->slots, n * sizeof(*v));
		if (!v)
			return sp_err_set(err, -ENOMEM, "out of memory");
		for (size_t i = cg->nslots; i < n; i++)
			v[i] = (struct cg_slot){false, -1};
		cg->slots = v;
		cg->nslots = n;
	}
	struct cg_slot *s = &cg->slots[slot];
	if (s->made)
		return 0;
	if (cg->mem[0]) {
		slot_dir(cg->mem, slot, dir, sizeof(dir));
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return sp_err_sys(err, -errno, "mkdir %s", dir);
		if (cg->version == 2) {
			r = cg->mem_limit ? write_u64(dir, "memory.max", cg->mem_limit) : 0;
			if (r == 0)
				write_text(dir, "memory.swap.max", "0"); /* may be absent */
			if (r == 0)
				r = write_text(dir, "memory.oom.group", "1");
		} else {
			r = cg->mem_limit ? write_u64(dir, "memory.limit_in_bytes", cg->mem_limit)
					  : 0;
			if (r == 0 && cg->mem_limit)
				write_u64(dir, "memory.memsw.limit_in_bytes", cg->mem_limit);
			if (r == 0) {
				s->oom_fd = oom_eventfd(dir);
				r = s->oom_fd < 0 ? s->oom_fd : 0;
			}
		}
		if (r < 0)
			return sp_err_sys(err, r, "memory limits of %s", dir);
	}
	if (cg->pids[0] && cg->pids_max) {
		slot_dir(cg->pids, slot, dir, sizeof(dir));
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return sp_err_sys(err, -errno, "mkdir %s", dir);
		r = write_u64(dir, "pids.max", cg->pids_max);
		if (r < 0)
			return sp_err_sys(err, r, "pids.max of %s", dir);
	}
	s->made = true;
	return 0;
}

int cg_slot_join(struct cgroups *cg, unsigned slot, pid_t pid, struct sp_err *err)
{
	char dir[PATH_MAX + 32], text[32];
	int r;

	if (!cg->version)
		return 0;
	r = slot_make(cg, slot, err);
	if (r < 0)
		return r;
	snprintf(text, sizeof(text), "%d", (int)pid);
	const char *parents[2] = {cg->mem, cg->version == 1 ? cg->pids : ""};
	for (int i = 0; i < 2; i++) {
		if (!parents[i][0] || (i == 1 && !cg->pids_max))
			continue;
		slot_dir(parents[i], slot, dir, sizeof(dir));
		r = write_text(dir, "cgroup.procs", text);
		if (r < 0)
			return sp_err_sys(err, r, "join %s", dir);
	}
	return 0;
}

int cg_slot_oom_fd(const struct cgroups *cg, unsigned slot)
{
	return slot < cg->nslots ? cg->slots[slot].oom_fd : -1;
}

void cg_slot_kill(struct cgroups *cg, unsigned slot)
{
	char dir[PATH_MAX + 32];
	if (!cg->version || slot >= cg->nslots || !cg->slots[slot].made)
		return;
	const char *parent = cg->mem[0] ? cg->mem : cg->pids;
	slot_dir(parent, slot, dir, sizeof(dir));
	/* v2: one write kills the whole group (kernel 5.14); the loop is the fallback and the
	 * wait. */
	if (cg->version == 2)
		write_text(dir, "cgroup.kill", "1");
	kill_procs(dir);
}

void cg_fini(struct cgroups *cg)
{
	if (!cg->version)
		return;
	for (size_t i = 0; i < cg->nslots; i++) {
		cg_slot_kill(cg, (unsigned)i);
		if (cg->slots[i].oom_fd >= 0)
			close(cg->slots[i].oom_fd);
	}
	if (cg->mem[0])
		remove_tree(cg->mem);
	if (cg->version == 1 && cg->pids[0])
		remove_tree(cg->pids);
	free(cg->slots);
	cg->slots = NULL;
	cg->nslots = 0;
	cg->version = 0;
}
