/* SPDX-License-Identifier: MIT */
/*
 * The replay runner linked into every fuzz target when it is built without libFuzzer (crun's
 * file-replay pattern): each argument is a file or a directory, and every regular file (a
 * directory's entries in name order, not recursively) is read into a buffer of exactly its size
 * and handed to LLVMFuzzerTestOneInput once. ctest runs it over the checked-in corpus, so every
 * CI run replays the corpora, under ASan/UBSan in the sanitizer build.
 *
 * Exit status: 0 when every input ran (a crash or sanitizer report ends the process first);
 * 1 when the arguments named no input at all (an empty corpus proves nothing); 2 on I/O errors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fuzz.h"

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	size_t n = (size_t)st.st_size;
	/* Exactly |n| bytes (at least one for malloc), so ASan sees any read past the input. */
	cleanup_free uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the file shrank while we read it */
		got += (size_t)r;
	}
	*out = steal_pointer(&buf);
	*len = n;
	return 0;
}

static int replay_file(const char *path)
{
	cleanup_free uint8_t *data = NULL;
	size_t len = 0;
	int r = read_file(path, &data, &len);
	if (r < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(-r));
		return r;
	}
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(data, len);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_dir(const char *dir, size_t *count)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		cleanup_free char *path = NULL;
		struct stat st;
		if (names[i]->d_name[0] != '.' &&
		    asprintf(&path, "%s/%s", dir, names[i]->d_name) >= 0 && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (replay_file(path) < 0)
				rc = -EIO;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = -EIO;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0)
				rc = -EIO;
		} else if (replay_file(argv[i]) < 0) {
			rc = -EIO;
		} else {
			count++;
		}
	}
	if (rc < 0)
		return 2;
	if (count == 0) {
		fprintf(stderr, "replay: no input given (usage: %s FILE-OR-DIR…)\n", argv[0]);
		return 1;
	}
	printf("replayed %zu inputs\n", count);
	return 0;
}
