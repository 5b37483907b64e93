/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the daemon's first stage for every packet a requester sends,
 * decode_request(): bytes and an fd count to an accepted request or a
 * refusal.
 *
 * Input: one byte, the number of fds the packet carried (capped at
 * WIRE_MAX_FDS), then the packet's bytes (at most a tree request's size,
 * as larger packets never reach the decoder). */
#include <stdbool.h>
#include <string.h>

#include "decode.h"
#include "plan-check.h"
#include "priv-proto.h"
#include "tree-front.h"
#include "fuzz.h"
#include "kernel.h"
#include "wire.h"

#define MAX_PACKET (1024 * 1024)

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

static void add_claim(struct indexes *ix, const Pidrestore__TreeClaimRequest *claim)
{
	FUZZ_REQUIRE(claim->how_case == PIDRESTORE__TREE_CLAIM_REQUEST__HOW_EXEC ||
		     claim->how_case == PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB);
	if (claim->how_case == PIDRESTORE__TREE_CLAIM_REQUEST__HOW_EXEC) {
		add_exec(ix, claim->exec);
		return;
	}
	add_index(ix, true, claim->blob->memfd_index);
	for (size_t i = 0; i < claim->blob->n_fds; i++)
		add_index(ix, true, claim->blob->fds[i]->fd_index);
}

/* An accepted tree goes through front's checks and planner: a refusal
 * says why and where, a success is a record whose plan priv's check takes
 * (the planner never makes a plan that does not check). */
static void check_tree(const Pidrestore__Request *req, size_t n_fds)
{
	struct tree_fault f;
	uint8_t *rec = NULL;
	long n = tree_front_record(req, n_fds, &rec, &f);

	if (n < 0) {
		FUZZ_REQUIRE(f.why.err == -n && f.why.text[0] != '\0');
		FUZZ_REQUIRE(f.node >= -1 && f.node < (int32_t)req->tree->n_nodes);
		FUZZ_REQUIRE(strstr(f.why.text, "please report") == NULL);
	} else {
		struct priv_request pr;
		struct tree_plan_view view;
		const char *what = NULL;
		int bad;
		uint32_t *scratch;

		FUZZ_REQUIRE((size_t)n > sizeof(pr));
		memcpy(&pr, rec, sizeof(pr));
		FUZZ_REQUIRE(pr.body == PRIV_BODY_TREE && pr.len == (size_t)n - sizeof(pr) && pr.n_fds == n_fds);
		scratch = calloc(2 * req->tree->n_nodes + 1, sizeof(*scratch));
		FUZZ_REQUIRE(scratch != NULL);
		FUZZ_REQUIRE(tree_plan_check(rec + sizeof(pr), pr.len, scratch, &view, &what, &bad) == 0);
		free(scratch);
	}
	free(rec);
}

/* A claim by blob becomes its fixed-layout record and fd map; a claim by
 * exec is refused (it goes as an ExecRequest). */
static void check_claim(const Pidrestore__Request *req, size_t n_fds)
{
	const Pidrestore__TreeClaimRequest *claim = req->tree_claim;
	struct tree_fault f;
	uint8_t *rec = NULL;
	long n = tree_front_record(req, n_fds, &rec, &f);
	struct priv_request pr;
	struct priv_tree_blob blob;

	if (claim->how_case != PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB) {
		FUZZ_REQUIRE(n == -EOPNOTSUPP && f.why.text[0] != '\0');
		free(rec);
		return;
	}
	FUZZ_REQUIRE((size_t)n == sizeof(pr) + sizeof(blob) + claim->blob->n_fds * sizeof(struct priv_fd_map));
	memcpy(&pr, rec, sizeof(pr));
	memcpy(&blob, rec + sizeof(pr), sizeof(blob));
	FUZZ_REQUIRE(pr.body == PRIV_BODY_TREE_CLAIM && pr.len == (size_t)n - sizeof(pr) && pr.n_fds == n_fds);
	FUZZ_REQUIRE(blob.tree_id == claim->tree_id && blob.node == claim->node && blob.n_fds == claim->blob->n_fds &&
		     blob.memfd_index == claim->blob->memfd_index);
	free(rec);
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
	case PIDRESTORE__REQUEST__BODY_TREE:
		add_index(&ix, req->tree->has_pidns_fd_index, req->tree->pidns_fd_index);
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM:
		add_claim(&ix, req->tree_claim);
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL:
		for (size_t i = 0; i < req->tree_claim_all->n_claims; i++)
			add_claim(&ix, req->tree_claim_all->claims[i]);
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
		if (req->body_case == PIDRESTORE__REQUEST__BODY_TREE)
			check_tree(req, n_fds);
		else if (req->body_case == PIDRESTORE__REQUEST__BODY_TREE_CLAIM)
			check_claim(req, n_fds);
	}
	if (req)
		pidrestore__request__free_unpacked(req, NULL);
	return 0;
}
