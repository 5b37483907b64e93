/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The channel between pidrestored's two processes (DESIGN §2).
 *
 * front runs as the unprivileged "pidrestore" user, confined, and owns every
 * byte a requester writes: the listening socket, the connections, protobuf,
 * the limits against floods and the output queues. priv is root and owns
 * every privileged act: it captures a requester's identity, decides the
 * policy, resolves namespaces, creates, signals and reaps processes. priv
 * never parses a requester's bytes: front decodes and validates a request,
 * then sends priv the fixed-layout record below; priv validates that record
 * again (front may have been taken over), builds the request from it and
 * answers with ServerMessages it packs itself, which front forwards as they
 * are.
 *
 * The channel is one SOCK_SEQPACKET socket pair, made by the starting
 * process before it forks front. Every packet starts with a priv_header;
 * fds travel in SCM_RIGHTS.
 *
 * What makes the wall hold: no record front sends carries an identity.
 * front hands priv a requester's connection socket itself
 * (PRIV_MSG_CONN_OPEN), and priv reads SO_PEERCRED, SO_PEERGROUPS and
 * SO_PEERPIDFD from it and captures the rest through that pidfd. A front
 * taken over by an attacker can then at most ask, for a requester that
 * really is connected, what the policy allows that requester anyway.
 *
 * front -> priv:
 *   PRIV_MSG_FRONT_READY  no body: front is confined and accepting
 *   PRIV_MSG_CONN_OPEN    no body; one fd: the connection's socket, which
 *                         priv closes once it has captured the requester
 *   PRIV_MSG_CONN_CLOSE   no body: the connection is gone; priv releases its
 *                         reservations and forgets it
 *   PRIV_MSG_REQUEST      struct priv_request, then its body; the request's
 *                         fds, in index order
 * priv -> front:
 *   PRIV_MSG_CONN_ACCEPTED  struct priv_conn_accepted
 *   PRIV_MSG_CONN_REFUSED   struct priv_refusal: front sends the text as the
 *                           answer to the client's Hello and closes
 *   PRIV_MSG_CONN_STATE     struct priv_conn_state, when it changed and no
 *                           PRIV_MSG_SEND to the connection said so
 *   PRIV_MSG_SEND           struct priv_conn_state, then a packed
 *                           pidrestore.ServerMessage for the connection,
 *                           with its fds; front queues it
 *   PRIV_MSG_STOP           no body: stop accepting, close everything, exit
 *
 * Request bodies (priv_request.body, the field numbers of Request.body):
 *   HELLO    struct priv_hello
 *   SPAWN    struct priv_process, then struct priv_exec and its trailer
 *   RESERVE  n_items struct priv_process; arg: ttl_sec (PRIV_REQ_HAS_ARG)
 *   EXEC     uint64_t reservation id, then struct priv_exec and its trailer
 *   RELEASE  n_items uint64_t ids; PRIV_REQ_ALL; arg: the uid whose
 *            reservations all names (PRIV_REQ_HAS_ARG)
 *   KILL     n_items uint64_t ids; arg: the signal (PRIV_REQ_HAS_ARG)
 *   LIST     PRIV_REQ_ALL
 *   POLICY   with PRIV_REQ_CHECK a struct priv_process; arg: the uid asked
 *            about (PRIV_REQ_HAS_ARG)
 *   STATUS, RELOAD, STATS, CHECK, NONE: no body
 *   TREE     the plan front compiled, as tree-proto.h lays it out; n_fds 0,
 *            or 1 with TREE_PLAN_TARGET_PIDNS. priv takes it as it is
 *            (no protobuf is rebuilt) and checks it with tree_plan_check()
 *   TREE_RELEASE  n_items 1: one uint64_t tree id
 *   TREE_CLAIM    a blob claim: struct priv_tree_blob, then n_fds struct
 *            priv_fd_map; the request's fds, in index order (the memfd
 *            and the map's). A claim by exec goes with ExecRequest on the
 *            node's reservation id instead.
 *   TREE_CLAIM_ALL  uint64_t tree id, then n_items claims, each an int32_t
 *            node index and a uint32_t enum priv_claim_how, followed by
 *            struct priv_exec and its trailer (PRIV_CLAIM_EXEC) or by
 *            struct priv_tree_blob and its n_fds struct priv_fd_map
 *            (PRIV_CLAIM_BLOB)
 *   TREE_LIST  PRIV_REQ_ALL: with every node's row
 * A priv_exec is followed by n_fds struct priv_fd_map, then the path
 * (path_len bytes, no NUL), then argc and envc strings, each a uint32_t
 * length and that many bytes. Records are packed one after the other with
 * no padding between them; readers copy them out with memcpy.
 *
 * Both programs are one binary, so the layout needs no negotiation; the
 * magic catches a packet that is no record of this channel at all. */
#pragma once

#include <stdint.h>

#include "kernel.h"

#define PRIV_PROTO_MAGIC 0x70725001u /* "prP" + version 1 */

/* The largest packet on the channel: a request of the largest size the
 * daemon accepts, or a reply listing every process, and its header. */
#define PRIV_MAX_PACKET (24u * 1024 * 1024)

enum priv_msg_type {
	PRIV_MSG_FRONT_READY = 1,
	PRIV_MSG_CONN_OPEN = 2,
	PRIV_MSG_CONN_CLOSE = 3,
	PRIV_MSG_REQUEST = 4,
	PRIV_MSG_CONN_ACCEPTED = 32,
	PRIV_MSG_CONN_REFUSED = 33,
	PRIV_MSG_CONN_STATE = 34,
	PRIV_MSG_SEND = 35,
	PRIV_MSG_STOP = 36,
};

struct priv_header {
	uint32_t magic;        /* PRIV_PROTO_MAGIC */
	uint32_t type;         /* enum priv_msg_type */
	uint64_t conn;         /* front's number of the connection; 0: none */
};

/* ------------------------------------------------------------ requests */

enum priv_request_flags {
	PRIV_REQ_HAS_ARG = 1u << 0,
	PRIV_REQ_ALL = 1u << 1,
	PRIV_REQ_CHECK = 1u << 2,
};

/* The body numbers: pidrestore.Request's body field numbers. */
enum priv_body {
	PRIV_BODY_NONE = 0,    /* a request type front does not know */
	PRIV_BODY_HELLO = 10,
	PRIV_BODY_SPAWN = 11,
	PRIV_BODY_RESERVE = 12,
	PRIV_BODY_EXEC = 13,
	PRIV_BODY_RELEASE = 14,
	PRIV_BODY_STATUS = 15,
	PRIV_BODY_RELOAD = 16,
	PRIV_BODY_POLICY = 17,
	PRIV_BODY_LIST = 18,
	PRIV_BODY_STATS = 19,
	PRIV_BODY_CHECK = 20,
	PRIV_BODY_KILL = 21,
	PRIV_BODY_TREE = 22,          /* the body: a tree plan (tree-proto.h) */
	PRIV_BODY_TREE_CLAIM = 23,    /* the body: struct priv_tree_blob and its fd map */
	PRIV_BODY_TREE_CLAIM_ALL = 24, /* tree id, then n_items claims, by exec or blob */
	PRIV_BODY_TREE_RELEASE = 25,  /* n_items 1: the body is the uint64_t tree id */
	PRIV_BODY_TREE_LIST = 26,
};

struct priv_request {
	uint64_t id;           /* the client's request id, echoed in the answer */
	uint32_t body;         /* enum priv_body */
	uint32_t flags;        /* enum priv_request_flags */
	uint32_t arg;
	uint32_t n_items;
	uint32_t n_fds;        /* fds in SCM_RIGHTS; must equal what arrived */
	uint32_t len;          /* bytes of the body after this record */
};

#define PRIV_CLIENT_NAME_MAX 84

struct priv_hello {
	uint32_t min_version;
	uint32_t max_version;
	/* Hello.client escaped for a log line (privmsg_client_name()),
	 * NUL-terminated. */
	char client[PRIV_CLIENT_NAME_MAX];
};

enum priv_process_flags {
	PRIV_PROC_PIDNS_FD = 1u << 0,   /* pidns_fd_index is set */
	PRIV_PROC_NEW_PIDNS = 1u << 1,
};

struct priv_process {
	uint32_t flags;        /* enum priv_process_flags */
	int32_t pidns_fd_index;
	uint32_t n_pids;       /* at most PR_MAX_LEVELS */
	int32_t pids[PR_MAX_LEVELS]; /* innermost first */
};

enum priv_exec_flags {
	PRIV_EXEC_PATH = 1u << 0,        /* path_len bytes of path follow */
	PRIV_EXEC_PROGRAM_FD = 1u << 1,  /* program_fd_index is set */
	PRIV_EXEC_CWD_FD = 1u << 2,      /* cwd_fd_index is set */
};

struct priv_exec {
	uint32_t flags;        /* enum priv_exec_flags */
	int32_t program_fd_index;
	int32_t cwd_fd_index;
	uint32_t n_fds;        /* struct priv_fd_map records that follow */
	uint32_t argc;
	uint32_t envc;
	uint32_t path_len;
	uint32_t reserved;
};

struct priv_fd_map {
	int32_t fd_index;
	int32_t target;
};

/* A blob claim of node of tree tree_id (pidrestore.TreeBlob). */
enum priv_claim_how {
	PRIV_CLAIM_EXEC = 1,
	PRIV_CLAIM_BLOB = 2,
};

struct priv_tree_blob {
	uint64_t tree_id;
	int32_t node;
	int32_t memfd_index;
	uint64_t address;
	uint64_t entry;
	uint32_t n_fds;        /* struct priv_fd_map records that follow */
	uint32_t reserved;
};

/* ------------------------------------------------------------ answers */

struct priv_conn_accepted {
	uint32_t uid;          /* for front's log lines and per-user limits */
	uint32_t responsible_uid; /* the host uid connections are counted against */
	int32_t pid;           /* in the daemon's pid namespace */
	uint32_t reserved;
};

struct priv_refusal {
	int32_t error;         /* positive errno */
	char text[512];        /* NUL-terminated */
};

/* What front needs of a connection to close it when idle. */
struct priv_conn_state {
	uint32_t version;      /* protocol version agreed in Hello, 0 before */
	uint32_t reservations; /* outstanding reservations of the connection */
	uint32_t running;      /* its programs being executed or running */
	uint32_t reserved;
};
