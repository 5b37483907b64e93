/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Requests on the channel between front and priv (priv-proto.h): front
 * packs a request it decoded and validated into a fixed-layout record; priv
 * builds the request back from that record alone and validates it again. No
 * fds, no state: both halves are unit-tested and fuzzed on their own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pidrestore.pb-c.h"
#include "util.h"

/* Whether req goes to priv as a record packed here (a tree, its release
 * and a claim with a blob go as tree-front.c makes them, or not at all). */
bool privmsg_has_record(const Pidrestore__Request *req);

/* A blob claim's record (struct priv_tree_blob and its fd map), alone
 * (PRIV_BODY_TREE_CLAIM) or in a claim-all: its size, and writing it at at,
 * which it returns moved past it. */
size_t privmsg_blob_size(const Pidrestore__TreeBlob *blob);
uint8_t *privmsg_put_blob(uint8_t *at, uint64_t tree_id, int32_t node, const Pidrestore__TreeBlob *blob);

/* Bytes the record of req takes (a priv_request and its body). */
size_t privmsg_request_size(const Pidrestore__Request *req);

/* Writes the record of req (which decode_request() accepted, with n_fds
 * fds) into buf: the body of a PRIV_MSG_REQUEST packet. Returns its length,
 * or -EMSGSIZE when cap is too small. */
long privmsg_pack_request(const Pidrestore__Request *req, size_t n_fds, uint8_t *buf, size_t cap);

/* A request built from a record. It points into the record's bytes, which
 * must outlive it. */
struct privmsg_request {
	Pidrestore__Request *req;
	struct privmsg_chunk *chunks;   /* what it was built in */
};

/* Builds the request of a PRIV_MSG_REQUEST body (the bytes after the
 * priv_header, len of them) whose packet carried n_fds fds, and validates
 * it as decode_request() does. Returns 0, or -EPROTO (a malformed record)
 * or the validation's error, with why saying what; ret->req is then set
 * when the record was whole enough to name its request id. Free ret with
 * privmsg_request_free() in both cases. */
int privmsg_unpack_request(const uint8_t *buf, size_t len, size_t n_fds, struct privmsg_request *ret, struct why *why);
void privmsg_request_free(struct privmsg_request *r);

/* Hello.client for a log line: cut short, and every byte that is not
 * printable ASCII, and the backslash, written as \xHH, so that no line can
 * be forged and no terminal escape reaches whoever reads the log. */
void privmsg_client_name(const char *name, char *buf, size_t len);
