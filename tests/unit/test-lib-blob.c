/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libpidrestore's blob claim against a daemon played by a thread: the
 * request it sends (tree, node, the memfd with its seals, address, entry,
 * the fd map), the claimed node in the reply, the daemon's refusal with
 * its message, and what the library refuses before sending. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "pidrestore.h"
#include "pidrestore.pb-c.h"
#include "wire.h"

#define BUSY_MESSAGE "node 3 of tree 9 is already claimed"

static int listen_fd;
static char sock_path[108];
/* What the played daemon saw of the claims. */
static int seen_claims, seen_fields_ok, seen_memfd_sealed, seen_map_ok;
static int seen_claim_alls, seen_mixed_ok;

static void send_response(int fd, Pidrestore__Response *resp)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	uint8_t buf[4096];

	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = resp;
	wire_send(fd, buf, pidrestore__server_message__pack(&msg, buf), NULL, 0);
}

static void claim_seen(const Pidrestore__Request *req, const struct wire_packet *pkt)
{
	const Pidrestore__TreeClaimRequest *cl = req->tree_claim;
	const Pidrestore__TreeBlob *b = cl->blob;
	int seals;

	seen_fields_ok = cl->tree_id == 9 && cl->node == 3 && cl->how_case == PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB &&
			 b->address == 0x100000000000ULL && b->entry == 0x100000000040ULL && req->fd_count == 2 &&
			 pkt->n_fds == 2;
	if (!seen_fields_ok)
		return;
	seals = b->memfd_index >= 0 && b->memfd_index < 2 ? fcntl(pkt->fds[b->memfd_index], F_GET_SEALS) : -1;
	seen_memfd_sealed = seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)) ==
						   (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW);
	seen_map_ok = b->n_fds == 1 && b->fds[0]->target == 5 && b->fds[0]->fd_index != b->memfd_index &&
		      b->fds[0]->fd_index >= 0 && b->fds[0]->fd_index < 2 &&
		      fcntl(pkt->fds[b->fds[0]->fd_index], F_GET_SEALS) < 0;
}

/* A claim-all of node 1 by exec and node 3 by the sealed blob. */
static void claim_all_seen(const Pidrestore__Request *req, const struct wire_packet *pkt)
{
	const Pidrestore__TreeClaimAllRequest *all = req->tree_claim_all;
	const Pidrestore__TreeClaimRequest *e, *b;
	int seals;

	if (all->tree_id != 9 || all->n_claims != 2)
		return;
	e = all->claims[0];
	b = all->claims[1];
	if (e->node != 1 || e->how_case != PIDRESTORE__TREE_CLAIM_REQUEST__HOW_EXEC || b->node != 3 ||
	    b->how_case != PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB || b->blob->address != 0x100000000000ULL ||
	    b->blob->memfd_index < 0 || (size_t)b->blob->memfd_index >= pkt->n_fds)
		return;
	seals = fcntl(pkt->fds[b->blob->memfd_index], F_GET_SEALS);
	seen_mixed_ok = seals >= 0 && (seals & F_SEAL_WRITE) && b->blob->n_fds == 1 && b->blob->fds[0]->target == 5;
}

static void answer(int fd, const Pidrestore__Request *req, const struct wire_packet *pkt)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__HelloReply hello = PIDRESTORE__HELLO_REPLY__INIT;
	Pidrestore__TreeClaimReply claimed = PIDRESTORE__TREE_CLAIM_REPLY__INIT;
	Pidrestore__TreeNodeInfo info = PIDRESTORE__TREE_NODE_INFO__INIT, info2 = PIDRESTORE__TREE_NODE_INFO__INIT;
	Pidrestore__TreeNodeInfo *infos[] = { &info, &info2 };
	Pidrestore__TreeClaimAllReply all = PIDRESTORE__TREE_CLAIM_ALL_REPLY__INIT;
	int32_t pids[2] = { 12, 7012 };

	resp.id = req->id;
	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_HELLO:
		hello.version = 1;
		hello.has_max_message_size = 1;
		hello.max_message_size = 65536;
		resp.body_case = PIDRESTORE__RESPONSE__BODY_HELLO;
		resp.hello = &hello;
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM:
		if (seen_claims++ == 0) {
			claim_seen(req, pkt);
			info.node = 3;
			info.n_pids = 2;
			info.pids = pids;
			info.has_state = 1;
			info.state = PIDRESTORE__TREE_NODE_STATE__TREE_CLAIMED;
			claimed.node = &info;
			resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE_CLAIM;
			resp.tree_claim = &claimed;
		} else {
			resp.has_error = 1;
			resp.error = EBUSY;
			resp.message = (char *)BUSY_MESSAGE;
		}
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL:
		seen_claim_alls++;
		claim_all_seen(req, pkt);
		all.nodes = infos;
		all.n_nodes = 2;
		resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE_CLAIM_ALL;
		resp.tree_claim_all = &all;
		break;
	default:
		return;
	}
	send_response(fd, &resp);
}

static void *daemon_thread(void *arg)
{
	static uint8_t buf[65536];
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	(void)arg;
	for (;;) {
		struct wire_packet pkt;
		Pidrestore__Request *req;

		if (fd < 0 || wire_recv(fd, buf, sizeof(buf), &pkt) <= 0)
			break;
		req = pidrestore__request__unpack(NULL, pkt.len, buf);
		if (req)
			answer(fd, req, &pkt);
		wire_close_fds(&pkt, 0);
		if (!req)
			break;
		pidrestore__request__free_unpacked(req, NULL);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int memfd = memfd_create("blob", MFD_CLOEXEC | MFD_ALLOW_SEALING), pipe_fds[2];
	pidrestore *c = NULL;
	pidrestore_blob blob;
	pthread_t th;
	int r;

	if (memfd < 0 || write(memfd, "\xc3", 1) != 1 ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) < 0 || pipe2(pipe_fds, O_CLOEXEC) < 0) {
		perror("memfd");
		return 99;
	}
	snprintf(sock_path, sizeof(sock_path), "/tmp/test-lib-blob.%d", (int)getpid());
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

	blob = (pidrestore_blob){ memfd, 0x100000000000ULL, 0x100000000040ULL, (const int[][2]){ { pipe_fds[1], 5 } }, 1 };
	r = pidrestore_tree_claim_blob(c, 9, 3, &blob);
	CHECK(r == 0, "a node is claimed by blob: %d %s", r, pidrestore_last_error(c));
	CHECK(seen_fields_ok, "the claim names the tree, the node, the address and the entry, with two fds");
	CHECK(seen_memfd_sealed, "the blob's fd is the sealed memfd");
	CHECK(seen_map_ok, "the fd map puts the other fd at 5");
	CHECK(fcntl(memfd, F_GETFD) >= 0 && fcntl(pipe_fds[1], F_GETFD) >= 0, "the caller keeps its fds");

	r = pidrestore_tree_claim_blob(c, 9, 3, &blob);
	CHECK(r == -EBUSY && strcmp(pidrestore_last_error(c), BUSY_MESSAGE) == 0, "the daemon's refusal and why: %d %s", r,
	      pidrestore_last_error(c));

	blob.memfd = -1;
	r = pidrestore_tree_claim_blob(c, 9, 3, &blob);
	CHECK(r == -EINVAL && seen_claims == 2, "no memfd is refused before sending: %s", pidrestore_last_error(c));
	blob.memfd = memfd;
	blob.fd_map = (const int[][2]){ { pipe_fds[1], -1 } };
	r = pidrestore_tree_claim_blob(c, 9, 3, &blob);
	CHECK(r == -EINVAL && seen_claims == 2 &&
		      strcmp(pidrestore_last_error(c), "fd_map[0] maps to the invalid fd -1") == 0,
	      "a negative target is refused before sending: %s", pidrestore_last_error(c));
	blob.fd_map = NULL;
	r = pidrestore_tree_claim_blob(c, 9, 3, &blob);
	CHECK(r == -EINVAL && seen_claims == 2, "a map count without a map is refused: %s", pidrestore_last_error(c));

	/* A claim-all by exec and by blob. */
	{
		char *const argv[] = { "true", NULL };
		pidrestore_command cmd = { .path = "/bin/true", .program_fd = -1, .argv = argv, .cwd_fd = -1 };
		pidrestore_tree_claim claims[2] = { { .node = 1, .cmd = &cmd }, { .node = 3, .blob = &blob } };

		blob.fd_map = (const int[][2]){ { pipe_fds[1], 5 } };
		r = pidrestore_tree_claim_all(c, 9, claims, 2);
		CHECK(r == 2 && seen_claim_alls == 1, "a claim-all by exec and by blob: %d %s", r, pidrestore_last_error(c));
		CHECK(seen_mixed_ok, "it carries the exec, and the blob with its sealed memfd and fd map");
		claims[1].cmd = &cmd;
		r = pidrestore_tree_claim_all(c, 9, claims, 2);
		CHECK(r == -EINVAL && seen_claim_alls == 1 &&
			      strcmp(pidrestore_last_error(c), "claim 1 (node 3) gives both a command and a blob; give one") == 0,
		      "a claim with both is refused before sending: %s", pidrestore_last_error(c));
		claims[1] = (pidrestore_tree_claim){ .node = 3 };
		r = pidrestore_tree_claim_all(c, 9, claims, 2);
		CHECK(r == -EINVAL && seen_claim_alls == 1 &&
			      strcmp(pidrestore_last_error(c), "claim 1 (node 3) gives neither a command nor a blob") == 0,
		      "a claim with neither is refused before sending: %s", pidrestore_last_error(c));
	}
	pidrestore_disconnect(c);
out:
	pthread_join(th, NULL);
	close(listen_fd);
	close(memfd);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	unlink(sock_path);
	return check_summary();
}
