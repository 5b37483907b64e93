/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libpidrestore's trees against a daemon played by a thread: the request
 * it sends (nodes, threads, sessions and groups as the header describes
 * them), a reply in two parts with pidfds, a refusal naming node and
 * level, and a release. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "pidrestore.h"
#include "pidrestore.pb-c.h"
#include "wire.h"

static int listen_fd;
static char sock_path[108];
/* What the played daemon saw of the tree request. */
static size_t seen_nodes, seen_threads;
static int seen_sid2, seen_pgid1, seen_pgid2_has, seen_signal, seen_comm_ok, seen_parents;

static void send_response(int fd, Pidrestore__Response *resp, const int *fds, size_t n_fds)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	uint8_t buf[8192];

	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = resp;
	if (n_fds > 0) {
		resp->has_fd_count = 1;
		resp->fd_count = (uint32_t)n_fds;
	}
	wire_send(fd, buf, pidrestore__server_message__pack(&msg, buf), fds, n_fds);
}

/* A part of a built tree: nodes [first, first + n), LIVE ones with a pidfd. */
static void send_part(int fd, uint64_t id, int first, int n, int more)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__TreeReply reply = PIDRESTORE__TREE_REPLY__INIT;
	Pidrestore__TreeNodeInfo infos[4], *ptrs[4];
	Pidrestore__TreeThread thread = PIDRESTORE__TREE_THREAD__INIT, *tp = &thread;
	int32_t pids[4][2], tids[2] = { 600, 7600 };
	int fds[4];
	size_t n_fds = 0;

	for (int k = 0; k < n; k++) {
		pidrestore__tree_node_info__init(&infos[k]);
		ptrs[k] = &infos[k];
		infos[k].node = first + k;
		pids[k][0] = 500 + first + k;
		pids[k][1] = 7500 + first + k;
		infos[k].n_pids = 2;
		infos[k].pids = pids[k];
		infos[k].has_reservation_id = 1;
		infos[k].reservation_id = 100 + (uint64_t)(first + k);
		infos[k].has_pidfd_index = 1;
		infos[k].pidfd_index = (int32_t)n_fds;
		fds[n_fds++] = STDERR_FILENO;
		if (first + k == 2) {
			thread.n_tids = 2;
			thread.tids = tids;
			infos[k].n_threads = 1;
			infos[k].threads = &tp;
		}
	}
	reply.has_tree_id = 1;
	reply.tree_id = 9;
	reply.has_first_node = 1;
	reply.first_node = first;
	reply.n_nodes = (size_t)n;
	reply.nodes = ptrs;
	reply.has_more = 1;
	reply.more = more;
	resp.id = id;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE;
	resp.tree = &reply;
	send_response(fd, &resp, fds, n_fds);
}

static void answer(int fd, const Pidrestore__Request *req, int *round)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__HelloReply hello = PIDRESTORE__HELLO_REPLY__INIT;
	Pidrestore__TreeReply refusal = PIDRESTORE__TREE_REPLY__INIT;
	Pidrestore__TreeReleaseReply released = PIDRESTORE__TREE_RELEASE_REPLY__INIT;
	int32_t released_nodes[3] = { 0, 1, 2 };

	resp.id = req->id;
	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_HELLO:
		hello.version = 1;
		hello.has_max_message_size = 1;
		hello.max_message_size = 65536;
		hello.has_max_tree_message_size = 1;
		hello.max_tree_message_size = WIRE_MAX_TREE_MESSAGE;
		resp.body_case = PIDRESTORE__RESPONSE__BODY_HELLO;
		resp.hello = &hello;
		send_response(fd, &resp, NULL, 0);
		return;
	case PIDRESTORE__REQUEST__BODY_TREE:
		seen_nodes = req->tree->n_nodes;
		seen_threads = req->tree->n_nodes > 2 ? req->tree->nodes[2]->n_threads : 0;
		seen_sid2 = req->tree->n_nodes > 2 && !req->tree->nodes[2]->has_sid;
		seen_pgid1 = req->tree->n_nodes > 1 && req->tree->nodes[1]->has_pgid ? req->tree->nodes[1]->pgid : -9;
		seen_pgid2_has = req->tree->n_nodes > 2 && req->tree->nodes[2]->has_pgid;
		seen_signal = req->tree->n_nodes > 3 && req->tree->nodes[3]->has_exit_signal ? req->tree->nodes[3]->exit_signal : 0;
		seen_parents = req->tree->n_nodes > 3 && req->tree->nodes[0]->parent == -1 && req->tree->nodes[1]->parent == 0 &&
			       req->tree->nodes[3]->parent == 0;
		seen_comm_ok = req->tree->nodes[0]->has_comm && req->tree->nodes[0]->comm.len == 2 &&
			       memcmp(req->tree->nodes[0]->comm.data, "sh", 2) == 0;
		if ((*round)++ == 0) {
			send_part(fd, req->id, 0, 2, 1);
			send_part(fd, req->id, 2, 2, 0);
			return;
		}
		refusal.has_error_node = refusal.has_error_level = 1;
		refusal.error_node = 3;
		refusal.error_level = 1;
		resp.has_error = 1;
		resp.error = EEXIST;
		resp.message = (char *)"node 3 (pid 503): pid 7503 is in use in pid namespace level 1";
		resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE;
		resp.tree = &refusal;
		send_response(fd, &resp, NULL, 0);
		return;
	case PIDRESTORE__REQUEST__BODY_TREE_RELEASE:
		released.n_released_nodes = req->tree_release->tree_id == 9 ? 3 : 0;
		released.released_nodes = released_nodes;
		resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE_RELEASE;
		resp.tree_release = &released;
		send_response(fd, &resp, NULL, 0);
		return;
	default:
		return;
	}
}

static void *daemon_thread(void *arg)
{
	static uint8_t buf[WIRE_MAX_TREE_MESSAGE];
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC), round = 0;

	(void)arg;
	for (;;) {
		struct wire_packet pkt;
		Pidrestore__Request *req;

		if (fd < 0 || wire_recv(fd, buf, sizeof(buf), &pkt) <= 0)
			break;
		wire_close_fds(&pkt, 0);
		req = pidrestore__request__unpack(NULL, pkt.len, buf);
		if (!req)
			break;
		answer(fd, req, &round);
		pidrestore__request__free_unpacked(req, NULL);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pid_t sh[2] = { 500, 7500 }, p1[2] = { 501, 7501 }, p2[2] = { 502, 7502 }, z[2] = { 503, 7503 };
	pid_t tids[2] = { 600, 7600 };
	pidrestore_tree_node nodes[4] = {
		{ PIDRESTORE_TREE_LIVE, PIDRESTORE_TREE_ROOT, sh, 2, .sid = 0, .pgid = 0, .comm = "sh" },
		{ PIDRESTORE_TREE_LIVE, 0, p1, 2, .sid = PIDRESTORE_TREE_INHERIT, .pgid = 1 },
		{ PIDRESTORE_TREE_LIVE, 0, p2, 2, .sid = PIDRESTORE_TREE_INHERIT, .pgid = PIDRESTORE_TREE_INHERIT,
		  .tids = tids, .n_threads = 1 },
		{ PIDRESTORE_TREE_ZOMBIE, 0, z, 2, .sid = PIDRESTORE_TREE_INHERIT, .pgid = PIDRESTORE_TREE_INHERIT,
		  .exit_code = -1, .exit_signal = 15 },
	};
	pidrestore_tree_spec spec = { nodes, 4, .pidns_fd = -1 };
	pidrestore_tree tree;
	pidrestore *c = NULL;
	pthread_t th;
	int r;

	snprintf(sock_path, sizeof(sock_path), "/tmp/test-lib-tree.%d", (int)getpid());
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 1) < 0) {
		perror("socket");
		return 99;
	}
	pthread_create(&th, NULL, daemon_thread, NULL);
	r = pidrestore_connect(sock_path, &c);
	CHECK(r == 0, "connects and says Hello: %d %s", r, pidrestore_last_error(NULL));
	if (r < 0)
		goto out;

	r = pidrestore_tree_build(c, &spec, &tree);
	CHECK(r == 0, "a tree is built: %d %s", r, pidrestore_last_error(c));
	CHECK(seen_nodes == 4 && seen_threads == 1 && seen_sid2 && seen_pgid1 == 1 && !seen_pgid2_has && seen_signal == 15 &&
		      seen_comm_ok,
	      "the request carries the nodes as given: inherit left out, group 1, a thread, SIGTERM, comm");
	CHECK(seen_parents, "and their parents, node 0 among them");
	if (r == 0) {
		CHECK(tree.id == 9 && tree.n_nodes == 4, "its id and four nodes from two parts");
		CHECK(tree.nodes[3].pids[1] == 7503 && tree.nodes[3].n_pids == 2 && tree.nodes[1].reservation_id == 101,
		      "each node's PIDs at every level and its reservation id");
		CHECK(tree.nodes[2].n_threads == 1 && tree.nodes[2].tids[0] == 600 && tree.nodes[2].tids[1] == 7600,
		      "a thread's TIDs at every level");
		CHECK(tree.nodes[0].pidfd > STDERR_FILENO && tree.nodes[3].pidfd > STDERR_FILENO, "a pidfd per node, the caller's");
		pidrestore_tree_free(&tree);
		CHECK(tree.nodes == NULL && tree.n_nodes == 0, "freed");
	}

	r = pidrestore_tree_build(c, &spec, &tree);
	CHECK(r == -EEXIST && tree.error_node == 3 && tree.error_level == 1 && tree.nodes == NULL &&
		      strcmp(pidrestore_last_error(c), "node 3 (pid 503): pid 7503 is in use in pid namespace level 1") == 0,
	      "a refusal names node 3 at level 1 and says why: %d %d %d %s", r, tree.error_node, tree.error_level,
	      pidrestore_last_error(c));
	r = pidrestore_tree_release(c, 9);
	CHECK(r == 3, "a release says how many nodes went: %d", r);
	spec.n_nodes = 0;
	r = pidrestore_tree_build(c, &spec, &tree);
	CHECK(r == -EINVAL, "an empty tree is refused before sending: %s", pidrestore_last_error(c));
	pidrestore_disconnect(c);
out:
	pthread_join(th, NULL);
	close(listen_fd);
	unlink(sock_path);
	return check_summary();
}
