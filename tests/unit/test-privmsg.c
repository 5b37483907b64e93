/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The records front sends priv (daemon/priv-proto.h): every request type
 * survives the trip unchanged, priv refuses every malformed record without
 * trusting a count in it, and no record has room for an identity. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decode.h"
#include "priv-proto.h"
#include "privmsg.h"
#include "wire.h"

/* The wall of DESIGN §2: priv takes a requester's identity only from the
 * socket. These sizes are the documented fields and nothing else; a field
 * added to a record (a uid, a pid, capabilities...) changes them and fails
 * the build here, to be looked at. */
_Static_assert(sizeof(struct priv_header) == 16, "priv_header: magic, type, conn");
_Static_assert(sizeof(struct priv_request) == 32, "priv_request: id, body, flags, arg, n_items, n_fds, len");
_Static_assert(sizeof(struct priv_hello) == 8 + PRIV_CLIENT_NAME_MAX, "priv_hello: versions and the client's name");
_Static_assert(sizeof(struct priv_process) == 12 + 4 * PR_MAX_LEVELS, "priv_process: flags, pidns fd, pids");
_Static_assert(sizeof(struct priv_exec) == 32, "priv_exec: flags, fd indexes, counts");
_Static_assert(sizeof(struct priv_fd_map) == 8, "priv_fd_map: index and target");

static uint8_t record[1 << 20];
/* With an argument, the records of the round trips are also written there,
 * as the seeds of tests/fuzz/corpus/privmsg. */
static const char *seed_dir;

static void write_seed(const char *name, size_t n_fds, const uint8_t *buf, size_t len)
{
	char path[4096], *c;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	for (c = path + strlen(seed_dir) + 1; *c; c++)
		if (*c == ' ')
			*c = '-';
	f = fopen(path, "w");
	if (!f)
		return;
	fputc((int)n_fds, f);
	fwrite(buf, 1, len, f);
	fclose(f);
}

/* What decode_request() makes of req packed, as front would see it. */
static Pidrestore__Request *decoded(const Pidrestore__Request *req, size_t n_fds)
{
	static uint8_t buf[1 << 16];
	size_t len = pidrestore__request__pack(req, buf);
	Pidrestore__Request *out = NULL;
	struct why why;

	if (decode_request(buf, len, n_fds, &out, &why) < 0) {
		printf("# the test's own request does not decode: %s\n", why.text);
		if (out)
			pidrestore__request__free_unpacked(out, NULL);
		return NULL;
	}
	return out;
}

/* Both requests packed as protobuf, byte for byte the same? */
static bool same(const Pidrestore__Request *a, const Pidrestore__Request *b)
{
	static uint8_t ba[1 << 16], bb[1 << 16];
	size_t la = pidrestore__request__pack(a, ba), lb = pidrestore__request__pack(b, bb);

	return la == lb && memcmp(ba, bb, la) == 0;
}

static void round_trip(const char *name, const Pidrestore__Request *req, size_t n_fds)
{
	Pidrestore__Request *in = decoded(req, n_fds);
	struct privmsg_request out;
	struct why why = { 0 };
	long n;
	int r;

	CHECK(in != NULL, "%s: decodes", name);
	if (!in)
		return;
	n = privmsg_pack_request(in, n_fds, record, sizeof(record));
	CHECK(n > 0 && (size_t)n == privmsg_request_size(in), "%s: packs into the size it announced (%ld)", name, n);
	r = privmsg_unpack_request(record, (size_t)n, n_fds, &out, &why);
	CHECK(r == 0, "%s: priv builds it back (%s)", name, r ? why.text : "ok");
	CHECK(r == 0 && same(in, out.req), "%s: unchanged", name);
	if (seed_dir)
		write_seed(name, n_fds, record, (size_t)n);
	privmsg_request_free(&out);
	/* Every shorter record is refused, and so is one byte more. */
	for (long cut = 0; cut < n; cut++) {
		r = privmsg_unpack_request(record, (size_t)cut, n_fds, &out, &why);
		privmsg_request_free(&out);
		if (r != -EPROTO) {
			CHECK(false, "%s: a record cut to %ld bytes is refused", name, cut);
			break;
		}
	}
	record[n] = 0;
	r = privmsg_unpack_request(record, (size_t)n + 1, n_fds, &out, &why);
	CHECK(r == -EPROTO, "%s: a record with a byte more is refused", name);
	privmsg_request_free(&out);
	if (n_fds > 0) {
		r = privmsg_unpack_request(record, (size_t)n, n_fds - 1, &out, &why);
		CHECK(r == -EPROTO, "%s: a record whose packet lost an fd is refused", name);
		privmsg_request_free(&out);
	}
	pidrestore__request__free_unpacked(in, NULL);
}

static ProtobufCBinaryData bytes(const char *s)
{
	return (ProtobufCBinaryData){ .len = strlen(s), .data = (uint8_t *)s };
}

static void test_every_type(void)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__Hello hello = PIDRESTORE__HELLO__INIT;
	Pidrestore__ProcessSpec p1 = PIDRESTORE__PROCESS_SPEC__INIT, p2 = PIDRESTORE__PROCESS_SPEC__INIT,
				p3 = PIDRESTORE__PROCESS_SPEC__INIT;
	Pidrestore__ExecSpec exec = PIDRESTORE__EXEC_SPEC__INIT;
	Pidrestore__FdMapping m0 = PIDRESTORE__FD_MAPPING__INIT, m1 = PIDRESTORE__FD_MAPPING__INIT;
	Pidrestore__FdMapping *maps[] = { &m0, &m1 };
	Pidrestore__SpawnRequest spawn = PIDRESTORE__SPAWN_REQUEST__INIT;
	Pidrestore__ReserveRequest reserve = PIDRESTORE__RESERVE_REQUEST__INIT;
	Pidrestore__ProcessSpec *procs[] = { &p1, &p2, &p3 };
	Pidrestore__ExecRequest ex = PIDRESTORE__EXEC_REQUEST__INIT;
	Pidrestore__ReleaseRequest rel = PIDRESTORE__RELEASE_REQUEST__INIT;
	Pidrestore__KillRequest kill = PIDRESTORE__KILL_REQUEST__INIT;
	Pidrestore__ListRequest list = PIDRESTORE__LIST_REQUEST__INIT;
	Pidrestore__PolicyRequest policy = PIDRESTORE__POLICY_REQUEST__INIT;
	Pidrestore__PolicyCheck pcheck = PIDRESTORE__POLICY_CHECK__INIT;
	Pidrestore__StatusRequest status = PIDRESTORE__STATUS_REQUEST__INIT;
	Pidrestore__TreeListRequest tlist = PIDRESTORE__TREE_LIST_REQUEST__INIT;
	Pidrestore__ExecSpec exec2 = PIDRESTORE__EXEC_SPEC__INIT;
	Pidrestore__TreeClaimRequest claim0 = PIDRESTORE__TREE_CLAIM_REQUEST__INIT, claim1 = PIDRESTORE__TREE_CLAIM_REQUEST__INIT;
	Pidrestore__TreeClaimRequest *claims[] = { &claim0, &claim1 };
	Pidrestore__TreeClaimAllRequest all = PIDRESTORE__TREE_CLAIM_ALL_REQUEST__INIT;
	Pidrestore__TreeBlob blob = PIDRESTORE__TREE_BLOB__INIT;
	Pidrestore__FdMapping blob_map = PIDRESTORE__FD_MAPPING__INIT, *blob_maps[] = { &blob_map };
	Pidrestore__FdMapping exec2_map = PIDRESTORE__FD_MAPPING__INIT, *exec2_maps[] = { &exec2_map };
	int32_t pids1[] = { 1, 4242, 0 }, pids2[] = { 300 }, pids3[] = { 0, 0 };
	ProtobufCBinaryData argv[] = { bytes("sleep"), bytes(""), bytes("10") }, envp[] = { bytes("A=b") };
	uint64_t ids[] = { 7, 1ull << 40, 9 };

	req.id = 12345;
	hello.min_version = 1;
	hello.max_version = 3;
	hello.client = "pidrestorectl 1.0";
	req.body_case = PIDRESTORE__REQUEST__BODY_HELLO;
	req.hello = &hello;
	round_trip("hello", &req, 0);

	p1.n_pids = 3;
	p1.pids = pids1;
	p1.has_new_pidns = 1;
	p1.new_pidns = 1;
	p1.has_pidns_fd_index = 1;
	p1.pidns_fd_index = 3;
	exec.has_path = 1;
	exec.path = bytes("/bin/sleep");
	exec.n_argv = 3;
	exec.argv = argv;
	exec.n_envp = 1;
	exec.envp = envp;
	m0.fd_index = 0;
	m0.target = 0;
	m1.fd_index = 1;
	m1.target = 9;
	exec.n_fds = 2;
	exec.fds = maps;
	exec.has_cwd_fd_index = 1;
	exec.cwd_fd_index = 2;
	spawn.process = &p1;
	spawn.exec = &exec;
	req.has_fd_count = 1;
	req.fd_count = 4;
	req.body_case = PIDRESTORE__REQUEST__BODY_SPAWN;
	req.spawn = &spawn;
	round_trip("spawn", &req, 4);

	exec.has_path = 0;
	exec.has_program_fd_index = 1;
	exec.program_fd_index = 3;
	ex.reservation_id = 1ull << 50;
	ex.exec = &exec;
	req.body_case = PIDRESTORE__REQUEST__BODY_EXEC;
	req.exec = &ex;
	round_trip("exec by program fd", &req, 4);

	p2.n_pids = 1;
	p2.pids = pids2;
	p3.n_pids = 2;
	p3.pids = pids3;
	p1.has_pidns_fd_index = 1;
	p1.pidns_fd_index = 0;
	reserve.n_processes = 3;
	reserve.processes = procs;
	reserve.has_ttl_sec = 1;
	reserve.ttl_sec = 60;
	req.fd_count = 1;
	req.body_case = PIDRESTORE__REQUEST__BODY_RESERVE;
	req.reserve = &reserve;
	round_trip("reserve of three", &req, 1);

	req.has_fd_count = 0;
	req.fd_count = 0;
	rel.n_reservation_ids = 3;
	rel.reservation_ids = ids;
	rel.has_all = 1;
	rel.all = 1;
	req.body_case = PIDRESTORE__REQUEST__BODY_RELEASE;
	req.release = &rel;
	round_trip("release", &req, 0);

	kill.n_ids = 2;
	kill.ids = ids;
	kill.has_signal = 1;
	kill.signal = 9;
	req.body_case = PIDRESTORE__REQUEST__BODY_KILL;
	req.kill = &kill;
	round_trip("kill", &req, 0);

	list.has_all = 1;
	list.all = 1;
	req.body_case = PIDRESTORE__REQUEST__BODY_LIST;
	req.list = &list;
	round_trip("list", &req, 0);

	p2.has_pidns_fd_index = 0;
	pcheck.has_uid = 1;
	pcheck.uid = 1000;
	pcheck.process = &p2;
	policy.check = &pcheck;
	req.body_case = PIDRESTORE__REQUEST__BODY_POLICY;
	req.policy = &policy;
	round_trip("policy check", &req, 0);

	req.body_case = PIDRESTORE__REQUEST__BODY_STATUS;
	req.status = &status;
	round_trip("status", &req, 0);

	tlist.has_nodes = 1;
	tlist.nodes = 1;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE_LIST;
	req.tree_list = &tlist;
	round_trip("tree list with nodes", &req, 0);

	/* Two exec claims, by path and by program fd (exec as above). */
	exec2.has_path = 1;
	exec2.path = bytes("/bin/true");
	claim0.tree_id = claim1.tree_id = all.tree_id = 1ull << 33;
	claim0.node = 4;
	claim0.how_case = claim1.how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_EXEC;
	claim0.exec = &exec2;
	claim1.node = 0;
	claim1.exec = &exec;
	all.n_claims = 2;
	all.claims = claims;
	exec.has_cwd_fd_index = 0;
	exec.program_fd_index = 2;
	req.has_fd_count = 1;
	req.fd_count = 3;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL;
	req.tree_claim_all = &all;
	round_trip("tree claim-all of two", &req, 3);

	/* An exec claim and a blob claim, the blob's memfd and one fd map. */
	blob.memfd_index = 1;
	blob.address = 1ull << 44;
	blob.entry = (1ull << 44) + 16;
	blob_map.fd_index = 2;
	blob_map.target = 1;
	blob.fds = blob_maps;
	blob.n_fds = 1;
	claim1.node = 7;
	claim1.how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB;
	claim1.blob = &blob;
	exec2.n_fds = 1;
	exec2.fds = exec2_maps;
	exec2_map.fd_index = 0;
	exec2_map.target = 1;
	round_trip("tree claim-all by exec and by blob", &req, 3);
	claim1.how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_EXEC;
	req.has_fd_count = 0;
	req.fd_count = 0;

	req.body_case = PIDRESTORE__REQUEST__BODY__NOT_SET;
	round_trip("a type front does not know", &req, 0);
}

/* A record made by hand: what a front taken over could send. */
static size_t forge(uint32_t body, uint32_t n_items, uint32_t n_fds, const void *tail, size_t tail_len)
{
	struct priv_request r = { .id = 1, .body = body, .n_items = n_items, .n_fds = n_fds, .len = (uint32_t)tail_len };

	memcpy(record, &r, sizeof(r));
	if (tail_len > 0)
		memcpy(record + sizeof(r), tail, tail_len);
	return sizeof(r) + tail_len;
}

static void test_forged(void)
{
	struct privmsg_request out;
	struct why why = { 0 };
	struct priv_process p = { .n_pids = PR_MAX_LEVELS + 1 };
	uint64_t ids[2] = { 1, 2 };
	size_t n;
	int r;

	n = forge(PRIV_BODY_RELEASE, 0xffffffffu, 0, ids, sizeof(ids));
	r = privmsg_unpack_request(record, n, 0, &out, &why);
	CHECK(r == -EPROTO && out.chunks != NULL, "4 billion ids in 16 bytes: refused before any allocation for them (%s)", why.text);
	privmsg_request_free(&out);

	n = forge(PRIV_BODY_RESERVE, 1, 0, &p, sizeof(p));
	r = privmsg_unpack_request(record, n, 0, &out, &why);
	CHECK(r == -EPROTO, "a process with %d PIDs is refused", PR_MAX_LEVELS + 1);
	privmsg_request_free(&out);

	p.n_pids = 1;
	p.pids[0] = -5;
	n = forge(PRIV_BODY_RESERVE, 1, 0, &p, sizeof(p));
	r = privmsg_unpack_request(record, n, 0, &out, &why);
	CHECK(r == -EINVAL && strstr(why.text, "PIDs are positive"), "a negative PID is refused as the decoder refuses it: %s", why.text);
	privmsg_request_free(&out);

	p.pids[0] = 5;
	p.flags = PRIV_PROC_PIDNS_FD;
	p.pidns_fd_index = 3;
	n = forge(PRIV_BODY_RESERVE, 1, 1, &p, sizeof(p));
	r = privmsg_unpack_request(record, n, 1, &out, &why);
	CHECK(r == -EPROTO && strstr(why.text, "out of range"), "an fd index past the fds carried is refused: %s", why.text);
	privmsg_request_free(&out);

	p.flags = 1u << 7;
	n = forge(PRIV_BODY_RESERVE, 1, 0, &p, sizeof(p));
	r = privmsg_unpack_request(record, n, 0, &out, &why);
	CHECK(r == -EPROTO, "unknown process flags are refused");
	privmsg_request_free(&out);

	n = forge(PRIV_BODY_STATUS, 0, 2, NULL, 0);
	r = privmsg_unpack_request(record, n, 2, &out, &why);
	CHECK(r == -EPROTO, "fds on a status are refused: %s", why.text);
	privmsg_request_free(&out);

	n = forge(99, 0, 0, NULL, 0);
	r = privmsg_unpack_request(record, n, 0, &out, &why);
	CHECK(r == -EPROTO && out.req && out.req->id == 1, "an unknown body number is refused, with the request id kept for the answer");
	privmsg_request_free(&out);

	/* A spawn whose argv string claims more bytes than the record has. */
	{
		struct {
			struct priv_process p;
			struct priv_exec x;
			uint32_t len;
			char s[4];
		} __attribute__((packed)) t = { .p = { .n_pids = 1, .pids = { 7 }, .pidns_fd_index = -1 },
						.x = { .flags = PRIV_EXEC_PATH, .argc = 1, .path_len = 0 },
						.len = 1000,
						.s = "abc" };

		n = forge(PRIV_BODY_SPAWN, 0, 0, &t, sizeof(t));
		r = privmsg_unpack_request(record, n, 0, &out, &why);
		CHECK(r == -EPROTO, "a string longer than the record is refused: %s", why.text);
		privmsg_request_free(&out);
		t.len = 4;
		t.s[1] = '\0';
		t.x.path_len = 0;
		n = forge(PRIV_BODY_SPAWN, 0, 0, &t, sizeof(t));
		r = privmsg_unpack_request(record, n, 0, &out, &why);
		CHECK(r < 0 && r != -EPROTO, "an argument with a NUL byte is refused as the decoder refuses it: %s", why.text);
		privmsg_request_free(&out);
	}
}

static void test_client_name(void)
{
	char buf[PRIV_CLIENT_NAME_MAX];
	char longname[200];

	privmsg_client_name("tool\x1b[31m \xc3\xa9\n", buf, sizeof(buf));
	CHECK(strcmp(buf, "tool\\x1b[31m \\xc3\\xa9\\x0a") == 0, "control characters and bytes >= 0x80 become \\xHH: \"%s\"", buf);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	privmsg_client_name(longname, buf, sizeof(buf));
	CHECK(strlen(buf) < sizeof(buf) && strcmp(buf + strlen(buf) - 3, "...") == 0, "a long name is cut short with \"...\"");
	privmsg_client_name(NULL, buf, sizeof(buf));
	CHECK(buf[0] == '\0', "no name is an empty one");
}

int main(int argc, char **argv)
{
	if (argc > 1)
		seed_dir = argv[1];
	test_every_type();
	test_forged();
	test_client_name();
	return check_summary();
}
