/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree_plan_check(): the reference plan of TREES.md §9 passes; each
 * structural rule, broken once, is refused with its own reason and the
 * process that breaks it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plan-check.h"
#include "tree-ref.h"

static int check_plan(const struct ref_plan *r, size_t cut, const char **what, int *proc)
{
	size_t len;
	void *buf = ref_serialize(r, &len);
	uint32_t *scratch = calloc(1, tree_check_scratch_size(r->head.n_procs) + 4);
	struct tree_plan_view v;
	int ret = tree_plan_check(buf, len - cut, scratch, &v, what, proc);

	free(scratch);
	free(buf);
	return ret;
}

struct mutation {
	const char *name;
	void (*apply)(struct ref_plan *r, const int *idx);
	int err;
	const char *what;        /* a part of the reason */
	int l2;                  /* the process named (its L2 PID), -1: the header */
};

static void bad_magic(struct ref_plan *r, const int *idx) { (void)idx; r->head.magic++; }
static void bad_flags(struct ref_plan *r, const int *idx) { (void)idx; r->head.flags |= 1u << 30; }
static void creator_self(struct ref_plan *r, const int *idx) { r->procs[idx[11]].creator = idx[11]; }
static void root_no_clone_parent(struct ref_plan *r, const int *idx) { r->procs[idx[1]].flags &= ~TREE_PROC_CLONE_PARENT; }
static void ghost_no_pid(struct ref_plan *r, const int *idx) { r->procs[idx[40]].n_set_tid = 0; r->procs[idx[40]].pids[0] = r->procs[idx[40]].pids[1] = 0; }
static void zombie_signal_0(struct ref_plan *r, const int *idx) { r->procs[idx[50]].exit_code = 0; }
static void zombie_code_256(struct ref_plan *r, const int *idx) { r->procs[idx[60]].exit_code = 256; }
static void live_exit_code(struct ref_plan *r, const int *idx) { r->procs[idx[13]].exit_code = 3; }
static void zombie_subreaper(struct ref_plan *r, const int *idx) { r->procs[idx[60]].flags |= TREE_PROC_SUBREAPER; }
static void group_out_of_range(struct ref_plan *r, const int *idx) { r->procs[idx[51]].pgid_barrier = REF_GROUPS; }
static void join_and_lead(struct ref_plan *r, const int *idx) { r->procs[idx[52]].flags |= TREE_PROC_GROUP_LEADER; }
static void leader_sets_group(struct ref_plan *r, const int *idx) { r->procs[idx[10]].pgid_action = TREE_PGID_OWN; }
static void comm_unterminated(struct ref_plan *r, const int *idx) { memset(r->procs[idx[14]].comm, 'x', TREE_COMM_LEN); }
static void pid_gap(struct ref_plan *r, const int *idx) { r->procs[idx[15]].pids[0] = 0; }
static void new_pidns_not_1(struct ref_plan *r, const int *idx) { r->procs[idx[1]].pids[0] = 2; }
static void levels_differ(struct ref_plan *r, const int *idx) { r->procs[idx[16]].n_levels = 2; r->procs[idx[16]].pids[1] = 0; r->procs[idx[16]].n_set_tid = 1; }
static void thread_zero(struct ref_plan *r, const int *idx) { (void)idx; r->threads[0].tids[0] = 0; }
static void not_threaded(struct ref_plan *r, const int *idx) { (void)idx; r->head.flags &= ~TREE_PLAN_THREADED; }
static void cloned_twice(struct ref_plan *r, const int *idx) { (void)idx; r->clones[1] = r->clones[0]; }
static void before_without_setsid(struct ref_plan *r, const int *idx) { r->procs[idx[10]].flags &= ~TREE_PROC_SETSID; }
static void init_clone_parent(struct ref_plan *r, const int *idx) { r->procs[idx[10]].flags |= TREE_PROC_CLONE_PARENT; }
static void helper_in_nodes(struct ref_plan *r, const int *idx) { r->procs[idx[97]].kind = TREE_PROC_HELPER; r->procs[idx[97]].node = -1; }
static void builder_gap(struct ref_plan *r, const int *idx) { (void)idx; r->head.builder_n_set_tid = 1; r->head.builder_pids[0] = 0; }

static const struct mutation mutations[] = {
	{ "wrong magic", bad_magic, EPROTO, "not a tree plan", -1 },
	{ "unknown plan flag", bad_flags, EINVAL, "unknown plan flags", -1 },
	{ "a proc its own creator", creator_self, EINVAL, "creator out of range", 11 },
	{ "a root without CLONE_PARENT", root_no_clone_parent, EINVAL, "CLONE_PARENT", 1 },
	{ "a ghost without its PID", ghost_no_pid, EINVAL, "explicit PID", 40 },
	{ "a zombie killed by signal 0", zombie_signal_0, EINVAL, "exit status out of range", 50 },
	{ "a zombie with exit code 256", zombie_code_256, EINVAL, "exit status out of range", 60 },
	{ "an exit code on a live node", live_exit_code, EINVAL, "no zombie", 13 },
	{ "a zombie subreaper", zombie_subreaper, EINVAL, "does not live", 60 },
	{ "a group out of range", group_out_of_range, EINVAL, "group index out of range", 51 },
	{ "joining and leading a group", join_and_lead, EINVAL, "group id where no group is joined", 52 },
	{ "a session leader changing its group", leader_sets_group, EINVAL, "session leader keeps its own group", 10 },
	{ "comm without its NUL", comm_unterminated, EINVAL, "comm not NUL-terminated", 14 },
	{ "an explicit PID after a zero", pid_gap, EINVAL, "run of explicit ones", 15 },
	{ "a new namespace's first process not pid 1", new_pidns_not_1, EINVAL, "pid 1", 1 },
	{ "fewer levels than its creator", levels_differ, EINVAL, "level count differs", 16 },
	{ "a thread TID 0", thread_zero, EINVAL, "thread TIDs invalid", 12 },
	{ "threads in a plan not marked threaded", not_threaded, EINVAL, "not marked threaded", 12 },
	{ "a process cloned twice", cloned_twice, EINVAL, "twice", 1 },
	{ "born before a setsid that never comes", before_without_setsid, EINVAL, "born before a setsid", 10 },
	{ "an init cloning with CLONE_PARENT", init_clone_parent, EINVAL, "init cannot clone with CLONE_PARENT", 10 },
	{ "a helper among the nodes", helper_in_nodes, EINVAL, "nodes come first", 97 },
	{ "a builder PID of 0 given", builder_gap, EINVAL, "builder PIDs", -1 },
};

int main(void)
{
	struct ref_plan r;
	int idx[100], proc;
	const char *what;

	ref_build(&r, idx);
	CHECK(check_plan(&r, 0, &what, &proc) == 0, "the reference plan passes (%s)", what ? what : "");
	CHECK(check_plan(&r, 8, &what, &proc) == -EINVAL && strstr(what, "size does not match"),
	      "a plan cut short is refused: %s", what);
	for (size_t m = 0; m < sizeof(mutations) / sizeof(mutations[0]); m++) {
		const struct mutation *mu = &mutations[m];
		int want_proc = mu->l2 < 0 ? -1 : idx[mu->l2], ret;

		ref_build(&r, idx);
		mu->apply(&r, idx);
		ret = check_plan(&r, 0, &what, &proc);
		CHECK(ret == -mu->err && what && strstr(what, mu->what) && proc == want_proc,
		      "%s: refused (%d, \"%s\", process %d; want %d, \"%s\", process %d)", mu->name, ret,
		      what ? what : "", proc, -mu->err, mu->what, want_proc);
	}
	return check_summary();
}
