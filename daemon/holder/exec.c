/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The placeholder's exec command: receives it with its fds, puts the fds
 * where the map says and the working directory in place, closes the rest
 * and runs the program, searching PATH as execvp does. A tree node's blob
 * command (tree-blob.c) is received and has its fds installed the same
 * way. */
#include "holder-proto.h"
#include "placeholder.h"
#include "sys.h"
#include "tree.h"

#define EXEC_KNOWN_FLAGS (HOLDER_EXEC_PROGRAM_FD | HOLDER_EXEC_CWD_FD)
#define EXEC_CONTROL_SPACE SYS_CMSG_SPACE(SYS_SCM_MAX_FD * sizeof(int))
/* Every mapped fd, plus the control socket and the program fd. */
#define EXEC_KEEP_MAX (SYS_SCM_MAX_FD + 2)

/* One exec command and the room to carry it out, in a single anonymous
 * mapping that exists only while the command runs, so that a parked holder
 * stays a few pages. */
struct exec_work {
	/* The received packet and its fds, in SCM_RIGHTS order. */
	const unsigned char *packet;
	size_t packet_len;
	int fds[SYS_SCM_MAX_FD];
	unsigned int n_received;

	/* The decoded command. */
	const struct holder_exec *cmd;
	const int32_t *targets;
	uint32_t n_map; /* entries of targets[] */
	int program_fd; /* -1 when none; a blob command: its memfd */
	int cwd_fd;     /* -1 when none */
	int *map_fds;   /* the n_fds fds to install at targets[] */
	char *path;     /* NUL-terminated copy */
	char **argv;
	char **envp;

	int keep[EXEC_KEEP_MAX];
	char candidate[SYS_PATH_MAX];
	/* Followed by the packet, then the argv and envp pointer arrays, then
	 * the path copy. */
};

/* Room for a command packet of len bytes and everything derived from it: each
 * string has at least its NUL, so argc + envc <= len. */
static size_t exec_work_size(size_t len)
{
	return page_round(sizeof(struct exec_work) + EXEC_CONTROL_SPACE + len + 7 +
			  (len + 2) * sizeof(char *) + len + 1);
}

static unsigned char *exec_work_control(struct exec_work *w)
{
	return (unsigned char *)(w + 1);
}

/* Collects the fds of every SCM_RIGHTS message. */
static int exec_collect_fds(struct exec_work *w, const struct sys_msghdr *msg)
{
	w->n_received = sys_cmsg_fds(msg, w->fds, w->n_received, SYS_SCM_MAX_FD);
	return (msg->flags & (SYS_MSG_TRUNC | SYS_MSG_CTRUNC)) ? -EPROTO : 0;
}

/* Checks the layout exactly and points the fields of w into the packet. */
static int exec_decode(struct exec_work *w)
{
	const struct holder_exec *cmd = (const void *)w->packet;
	const unsigned char *p;
	unsigned int expected_fds, fd_index = 0;
	uint64_t want;

	if (w->packet_len < sizeof(uint32_t) || cmd->type != HOLDER_CMD_EXEC)
		return -EPROTO;
	if (w->packet_len < sizeof(*cmd) || (cmd->flags & ~EXEC_KNOWN_FLAGS))
		return -EPROTO;

	want = (uint64_t)sizeof(*cmd) + (uint64_t)cmd->n_fds * sizeof(int32_t) +
	       cmd->path_len + cmd->strings_len;
	if (want != w->packet_len)
		return -EPROTO;

	expected_fds = !!(cmd->flags & HOLDER_EXEC_PROGRAM_FD) +
		       !!(cmd->flags & HOLDER_EXEC_CWD_FD);
	if (cmd->n_fds > SYS_SCM_MAX_FD || expected_fds + cmd->n_fds != w->n_received)
		return -EPROTO;

	w->cmd = cmd;
	w->n_map = cmd->n_fds;
	w->targets = (const int32_t *)(cmd + 1);
	for (uint32_t i = 0; i < cmd->n_fds; i++) {
		if (w->targets[i] < 0)
			return -EPROTO;
		for (uint32_t j = 0; j < i; j++)
			if (w->targets[j] == w->targets[i])
				return -EPROTO;
	}
	w->program_fd = (cmd->flags & HOLDER_EXEC_PROGRAM_FD) ? w->fds[fd_index++] : -1;
	w->cwd_fd = (cmd->flags & HOLDER_EXEC_CWD_FD) ? w->fds[fd_index++] : -1;
	w->map_fds = w->fds + fd_index;

	/* The path names the program unless an fd does. */
	p = (const unsigned char *)(w->targets + cmd->n_fds);
	if (cmd->path_len == 0 && w->program_fd < 0)
		return -EPROTO;
	for (uint32_t i = 0; i < cmd->path_len; i++)
		if (p[i] == '\0')
			return -EPROTO;
	memcpy(w->path, p, cmd->path_len);
	w->path[cmd->path_len] = '\0';
	p += cmd->path_len;

	/* argc then envc strings, each NUL-terminated, filling strings_len. */
	const unsigned char *end = p + cmd->strings_len;
	char **slot = w->argv;
	for (uint64_t i = 0; i < (uint64_t)cmd->argc + cmd->envc; i++) {
		const unsigned char *s = p;

		while (p < end && *p)
			p++;
		if (p == end)
			return -EPROTO;
		p++;
		if (i == cmd->argc)
			*slot++ = NULL;
		*slot++ = (char *)s;
	}
	if (cmd->envc == 0)
		*slot++ = NULL;
	*slot = NULL;
	if (p != end)
		return -EPROTO;
	w->envp = w->argv + cmd->argc + 1;
	return 0;
}

/* Waits for and receives one command into a fresh exec_work. Returns the
 * mapping with *error telling whether the fds arrived whole, or NULL with
 * *error set and the packet consumed. Exits when the daemon is gone. */
static struct exec_work *exec_receive(int control_fd, size_t *map_len, int *error)
{
	int has_fds = 0;
	long n = packet_peek(control_fd, 0, &has_fds);
	struct exec_work *w;

	if (n == -ECONNRESET || (n == 0 && !has_fds))
		sys_exit(0); /* the daemon is gone; so must its placeholders be */
	if (n < 0)
		sys_exit(127); /* the control socket itself is broken */

	*map_len = exec_work_size((size_t)n);
	w = sys_mmap_anon(*map_len);
	if (sys_mmap_failed(w)) {
		*error = (int)(long)w;
		packet_discard(control_fd);
		return NULL;
	}

	unsigned char *packet = exec_work_control(w) + EXEC_CONTROL_SPACE;
	struct iovec iov = { .iov_base = packet, .iov_len = (size_t)n };
	struct sys_msghdr msg = {
		.iov = &iov,
		.iovlen = 1,
		.control = exec_work_control(w),
		.controllen = EXEC_CONTROL_SPACE,
	};
	long got;

	/* Close-on-exec from the start: only what the map names survives. */
	do
		got = sys_recvmsg(control_fd, &msg, SYS_MSG_CMSG_CLOEXEC | SYS_MSG_DONTWAIT);
	while (got == -EINTR);
	if (got < 0) {
		*error = (int)got;
		sys_munmap(w, *map_len);
		return NULL;
	}

	w->packet = packet;
	w->packet_len = (size_t)got;
	w->argv = (char **)(((uintptr_t)(packet + n) + 7) & ~(uintptr_t)7);
	w->path = (char *)(w->argv + (size_t)n + 2);
	*error = exec_collect_fds(w, &msg);
	return w;
}

static void fds_close_all_but(int keep_fd)
{
	if (keep_fd > 0)
		sys_close_range(0, (unsigned int)keep_fd - 1, 0);
	sys_close_range((unsigned int)keep_fd + 1, ~0U, 0);
}

/* Closes every fd not in w->keep[0..n). */
static void fds_close_others(struct exec_work *w, unsigned int n)
{
	unsigned int next_open = 0;

	/* Insertion sort: at most EXEC_KEEP_MAX entries. */
	for (unsigned int i = 1; i < n; i++) {
		int v = w->keep[i];
		unsigned int j = i;

		for (; j > 0 && w->keep[j - 1] > v; j--)
			w->keep[j] = w->keep[j - 1];
		w->keep[j] = v;
	}
	for (unsigned int i = 0; i < n; i++) {
		unsigned int fd = (unsigned int)w->keep[i];

		if (fd > next_open)
			sys_close_range(next_open, fd - 1, 0);
		next_open = fd + 1;
	}
	sys_close_range(next_open, ~0U, 0);
}

/* Moves fd to a number above every target, keeping it close-on-exec. */
static int fd_move_above(int *fd, long max_target)
{
	int moved;

	if (*fd > max_target)
		return 0;
	moved = sys_fcntl(*fd, F_DUPFD_CLOEXEC, max_target + 1);
	if (moved < 0)
		return moved;
	sys_close(*fd);
	*fd = moved;
	return 0;
}

/* Puts every mapped fd at its target, inheritable, moves the working
 * directory, and closes everything else but the control socket and the
 * program fd. A received fd may sit at another mapping's target, so all of
 * them are first moved above every target. */
static int exec_install_fds(struct exec_work *w, int *control_fd, uint32_t *step)
{
	long max_target = -1;
	unsigned int n_keep = 0;
	int r;

	*step = HOLDER_STEP_EXEC_FDS;
	for (uint32_t i = 0; i < w->n_map; i++)
		if (w->targets[i] > max_target)
			max_target = w->targets[i];

	r = fd_move_above(control_fd, max_target);
	for (uint32_t i = 0; r == 0 && i < w->n_map; i++)
		r = fd_move_above(&w->map_fds[i], max_target);
	if (r == 0 && w->program_fd >= 0)
		r = fd_move_above(&w->program_fd, max_target);
	if (r == 0 && w->cwd_fd >= 0)
		r = fd_move_above(&w->cwd_fd, max_target);
	for (uint32_t i = 0; r == 0 && i < w->n_map; i++) {
		r = sys_dup3(w->map_fds[i], w->targets[i], 0);
		if (r > 0)
			r = 0;
	}
	if (r < 0)
		return r;

	*step = HOLDER_STEP_CWD;
	r = w->cwd_fd >= 0 ? sys_fchdir(w->cwd_fd) : sys_chdir("/");
	if (r < 0)
		return r;

	for (uint32_t i = 0; i < w->n_map; i++)
		w->keep[n_keep++] = w->targets[i];
	w->keep[n_keep++] = *control_fd;
	if (w->program_fd >= 0)
		w->keep[n_keep++] = w->program_fd;
	fds_close_others(w, n_keep);
	return 0;
}

static const char *env_lookup(char **envp, const char *name_eq)
{
	for (; *envp; envp++)
		if (str_has_prefix(*envp, name_eq))
			return *envp + str_len(name_eq);
	return NULL;
}

/* execvp's search: each PATH element in turn (an empty one is the current
 * directory). Only "not there" moves on to the next; if none ran, EACCES
 * from any candidate wins over the last error. */
static int exec_search_path(struct exec_work *w)
{
	const char *search = env_lookup(w->envp, "PATH=");
	size_t name_len = str_len(w->path);
	int saw_eacces = 0, r = -ENOENT;

	if (!search)
		search = "/usr/local/bin:/usr/bin:/bin";
	if (name_len > 255)
		return -ENAMETOOLONG;

	for (const char *dir = search;; dir++) {
		const char *dir_end = dir;
		size_t dir_len;

		while (*dir_end && *dir_end != ':')
			dir_end++;
		dir_len = (size_t)(dir_end - dir);
		if (dir_len == 0) {
			dir = ".";
			dir_len = 1;
		}

		if (dir_len + 1 + name_len + 1 > sizeof(w->candidate)) {
			r = -ENAMETOOLONG;
		} else {
			memcpy(w->candidate, dir, dir_len);
			w->candidate[dir_len] = '/';
			memcpy(w->candidate + dir_len + 1, w->path, name_len + 1);
			r = sys_execve(w->candidate, w->argv, w->envp);
		}

		switch (r) {
		case -EACCES:
			saw_eacces = 1;
			break;
		case -ENOENT:
		case -ENOTDIR:
		case -ENAMETOOLONG:
		case -ESTALE:
		case -ENODEV:
		case -ETIMEDOUT:
			break;
		default:
			return r;
		}
		if (*dir_end == '\0')
			break;
		dir = dir_end;
	}
	return saw_eacces ? -EACCES : r;
}

static int exec_program(struct exec_work *w)
{
	const char *p;

	if (w->program_fd >= 0)
		return sys_execveat(w->program_fd, "", w->argv, w->envp, AT_EMPTY_PATH);
	for (p = w->path; *p; p++)
		if (*p == '/')
			return sys_execve(w->path, w->argv, w->envp);
	return exec_search_path(w);
}

/* A blob command: its memfd first, then the fds of its map. */
static int blob_prepare(struct exec_work *w)
{
	int r = blob_decode(w->packet, w->packet_len, w->n_received, &w->targets, &w->n_map);

	for (uint32_t i = 0; r == 0 && i < w->n_map; i++)
		for (uint32_t j = 0; j < i; j++)
			if (w->targets[j] == w->targets[i])
				r = -EPROTO;
	if (r < 0)
		return r;
	w->program_fd = w->fds[0];
	w->cwd_fd = -1;
	w->map_fds = w->fds + 1;
	return r;
}

/* Runs one command. Returns only if it failed, with the holder parked again
 * exactly as before: only the control socket open, signals blocked, in "/". */
void command_run(int *control_fd)
{
	size_t map_len = 0;
	uint32_t step = HOLDER_STEP_PROTOCOL;
	int r;
	struct exec_work *w = exec_receive(*control_fd, &map_len, &r);
	uint32_t type = 0;

	if (!w) {
		report_send(*control_fd, HOLDER_REPORT_EXEC_FAILED, step, r);
		return;
	}

	if (w->packet_len >= sizeof(type))
		memcpy(&type, w->packet, sizeof(type));
	if (r == 0)
		r = type == HOLDER_CMD_BLOB ? blob_prepare(w) : exec_decode(w);
	if (r == 0)
		r = exec_install_fds(w, control_fd, &step);
	if (r == 0 && type == HOLDER_CMD_BLOB) {
		r = blob_enter(w->packet, w->program_fd, control_fd, w, map_len, &step);
	} else if (r == 0) {
		step = HOLDER_STEP_EXEC;
		signals_unblock_fresh();
		r = exec_program(w);
		signals_block_all();
	}

	fds_close_all_but(*control_fd);
	sys_chdir("/");
	sys_munmap(w, map_len);
	report_send(*control_fd, HOLDER_REPORT_EXEC_FAILED, step, r);
}
