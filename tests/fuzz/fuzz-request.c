/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the daemon's first stage for every packet a requester sends,
 * decode_request(): bytes and an fd count to an accepted request or a
 * refusal.
 *
 * Input: one byte, the number of fds the packet carried (capped at
 * WIRE_MAX_FDS), then the packet's bytes (at most the daemon's default
 * message size, as larger packets never reach the decoder). */
#include <stdbool.h>
#include <string.h>

#include "decode.h"
#include "fuzz.h"
#include "kernel.h"
#include "wire.h"

#define MAX_PACKET (64 * 1024)

struct indexes {
	size_t n;
	int32_t at[3 * WIRE_MAX_FDS];
};

static void add_index(struct indexes *ix, bool has, int32_t index)
{
	if (!has)
		return;
	FUZZ_REQUIRE(ix->n < ELEMENTSOF(ix->at));
	ix->at[ix->n++] = index;
}

static void add_process(struct indexes *ix, const Pidrestore__ProcessSpec *spec)
{
	FUZZ_REQUIRE(spec->n_pids <= PR_MAX_LEVELS);
	for (size_t i = 0; i < spec->n_pids; i++)
		FUZZ_REQUIRE(spec->pids[i] >= 0);
	add_index(ix, spec->has_pidns_fd_index, spec->pidns_fd_index);
}

static void add_exec(struct indexes *ix, const Pidrestore__ExecSpec *spec)
{
	FUZZ_REQUIRE(spec->has_program_fd_index || (spec->has_path && spec->path.len > 0 && spec->path.len < 4096 &&
						    strnlen((const char *)spec->path.data, spec->path.len) == spec->path.len));
	FUZZ_REQUIRE(spec->n_fds <= WIRE_MAX_FDS - 2);
	add_index(ix, spec->has_program_fd_index, spec->program_fd_index);
	for (size_t i = 0; i < spec->n_fds; i++)
		add_index(ix, true, spec->fds[i]->fd_index);
	add_index(ix, spec->has_cwd_fd_index, spec->cwd_fd_index);
}

static int compare_indexes(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* What the handlers rely on in an accepted request: its fd indexes are
 * exactly 0 .. n_fds-1, each once (else an fd would be read out of bounds,
 * closed twice or leaked), and its arrays fit theirs. */
static void check_accepted(const Pidrestore__Request *req, size_t n_fds)
{
	struct indexes ix = { 0 };

	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_SPAWN:
		add_exec(&ix, req->spawn->exec);
		add_process(&ix, req->spawn->process);
		break;
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		for (size_t i = 0; i < req->reserve->n_processes; i++)
			add_process(&ix, req->reserve->processes[i]);
		break;
	case PIDRESTORE__REQUEST__BODY_EXEC:
		add_exec(&ix, req->exec->exec);
		break;
	case PIDRESTORE__REQUEST__BODY_POLICY:
		if (req->policy->check)
			add_process(&ix, req->policy->check->process);
		break;
	default:
		break;
	}
	FUZZ_REQUIRE(ix.n == n_fds);
	qsort(ix.at, ix.n, sizeof(ix.at[0]), compare_indexes);
	for (size_t i = 0; i < ix.n; i++)
		FUZZ_REQUIRE(ix.at[i] == (int32_t)i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Pidrestore__Request *req = NULL;
	struct why why = { 0 };
	size_t n_fds;
	int r;

	if (size < 1 || size - 1 > MAX_PACKET)
		return 0;
	n_fds = data[0] < WIRE_MAX_FDS ? data[0] : WIRE_MAX_FDS;
	r = decode_request(data + 1, size - 1, n_fds, &req, &why);
	if (r < 0) {
		FUZZ_REQUIRE(why.err == -r && why.text[0] != '\0');
		FUZZ_REQUIRE(req != NULL || r == -EPROTO);
	} else {
		FUZZ_REQUIRE(r == 0 && req != NULL);
		check_accepted(req, n_fds);
	}
	if (req)
		pidrestore__request__free_unpacked(req, NULL);
	return 0;
}
