/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: what priv makes of a request record from front
 * (privmsg_unpack_request(), daemon/priv-proto.h). front may be taken over,
 * so these bytes are as hostile as a requester's.
 *
 * Input: one byte, the number of fds the packet carried (capped at
 * WIRE_MAX_FDS), then the record's bytes.
 *
 * Besides not crashing: every record priv accepts is a request front could
 * have sent, i.e. it packs as protobuf and decode_request() accepts it with
 * the same fd count. priv then promises its handlers nothing front's decoder
 * would not. */
#include <string.h>

#include "decode.h"
#include "fuzz.h"
#include "privmsg.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t packed[1 << 22];
	struct privmsg_request r;
	struct why why = { 0 };
	size_t n_fds;

	if (size < 1)
		return 0;
	n_fds = data[0] > WIRE_MAX_FDS ? WIRE_MAX_FDS : data[0];
	if (privmsg_unpack_request(data + 1, size - 1, n_fds, &r, &why) == 0) {
		Pidrestore__Request *again = NULL;
		size_t len = pidrestore__request__get_packed_size(r.req);

		FUZZ_REQUIRE(len <= sizeof(packed));
		pidrestore__request__pack(r.req, packed);
		FUZZ_REQUIRE(decode_request(packed, len, n_fds, &again, &why) == 0);
		pidrestore__request__free_unpacked(again, NULL);
	} else {
		FUZZ_REQUIRE(why.err != 0 && why.text[0] != '\0');
	}
	privmsg_request_free(&r);
	return 0;
}
