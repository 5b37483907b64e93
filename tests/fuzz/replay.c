/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Feeds files to a fuzz target's LLVMFuzzerTestOneInput() without libFuzzer,
 * so that `make check` replays every seed and every input that once crashed
 * a target, with whatever compiler and sanitizers the tree was built with.
 *
 *   replay-NAME [PATH...]
 *
 * PATH is a file or a directory of files (not descended into). Without one,
 * the target's corpus in the source tree (FUZZ_CORPUS) is replayed, and must
 * hold at least one input. A fault aborts, which fails the test; an
 * unreadable path or an empty corpus exits 99 (a hard error). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Reads the whole file into a buffer of exactly its size, so that a read
 * past the input's end is caught by AddressSanitizer as under libFuzzer. */
static int replay_file(int dirfd, const char *path)
{
	uint8_t *input = NULL;
	struct stat st;
	size_t len = 0;
	int fd, r = 0;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	input = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!input) {
		r = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, input + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out;
		}
		len += (size_t)n;
	}
	LLVMFuzzerTestOneInput(input, len);
out:
	free(input);
	close(fd);
	return r;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* In name order, so that a failure is reproducible. Returns the number of
 * files replayed or -errno. */
static int replay_dir(const char *path)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((errno = 0, de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (!grown) {
				r = -ENOMEM;
				goto out;
			}
			names = grown;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (errno) {
		r = -errno;
		goto out;
	}
	qsort(names, n, sizeof(*names), compare_names);
	for (size_t i = 0; i < n && r == 0; i++) {
		r = replay_file(dirfd(dir), names[i]);
		if (r < 0)
			fprintf(stderr, "replay: %s/%s: %s\n", path, names[i], strerror(-r));
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dir);
	return r < 0 ? r : (int)n;
}

static int replay_path(const char *path)
{
	struct stat st;
	int r;

	if (stat(path, &st) < 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = replay_dir(path);
	else if ((r = replay_file(AT_FDCWD, path)) == 0)
		r = 1;
	if (r < 0)
		fprintf(stderr, "replay: %s: %s\n", path, strerror(-r));
	else
		printf("replay: %s: %d input%s, no fault\n", path, r, r == 1 ? "" : "s");
	return r;
}

int main(int argc, char **argv)
{
	/* The corpus has seeds: none replayed means they went missing. */
	if (argc < 2)
		return replay_path(FUZZ_CORPUS) <= 0 ? 99 : 0;
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i]) < 0)
			return 99;
	return 0;
}
