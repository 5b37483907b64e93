/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The receive buffer that starts short of the largest packet (as under
 * valgrind): it grows to each packet that needs more, loses none, keeps
 * the fds, and a packet over its bound arrives cut short with its length. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rxbuf.h"
#include "check.h"

static int send_packet(int fd, size_t len, unsigned char fill, int pass_fd)
{
	unsigned char *buf = malloc(len ? len : 1);
	int r;

	if (!buf)
		return -ENOMEM;
	memset(buf, fill, len);
	r = wire_send(fd, buf, len, pass_fd >= 0 ? &pass_fd : NULL, pass_fd >= 0 ? 1 : 0);
	free(buf);
	return r;
}

static int filled(const struct rxbuf *rb, size_t len, unsigned char fill)
{
	for (size_t i = 0; i < len; i++)
		if (rb->data[i] != fill)
			return 0;
	return 1;
}

static int same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int main(void)
{
	struct rxbuf rb;
	struct wire_packet pkt;
	int sv[2], marker, r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return 99;
	marker = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (marker < 0 || rxbuf_init_sized(&rb, 64, 4096) < 0)
		return 99;

	r = rxbuf_recv(&rb, sv[0], &pkt);
	CHECK(r == -EAGAIN, "nothing waiting: -EAGAIN (got %d)", r);

	send_packet(sv[1], 40, 0x11, -1);
	r = rxbuf_recv(&rb, sv[0], &pkt);
	CHECK(r == 1 && pkt.len == 40 && !pkt.truncated && filled(&rb, 40, 0x11) && rb.cap == 64,
	      "a packet that fits is received whole and the buffer stays at 64 (len %zu, cap %zu)", pkt.len, rb.cap);

	/* Two waiting, the larger first: growing for one loses neither. */
	send_packet(sv[1], 1000, 0x22, marker);
	send_packet(sv[1], 10, 0x33, -1);
	r = rxbuf_recv(&rb, sv[0], &pkt);
	CHECK(r == 1 && pkt.len == 1000 && !pkt.truncated && filled(&rb, 1000, 0x22) && rb.cap == 1000,
	      "a 1000-byte packet grows the buffer to 1000 and comes whole (len %zu, cap %zu)", pkt.len, rb.cap);
	CHECK(pkt.n_fds == 1 && same_file(pkt.fds[0], marker) && (fcntl(pkt.fds[0], F_GETFD) & FD_CLOEXEC),
	      "with the fd it carried, close-on-exec (%zu fds)", pkt.n_fds);
	wire_close_fds(&pkt, 0);
	r = rxbuf_recv(&rb, sv[0], &pkt);
	CHECK(r == 1 && pkt.len == 10 && filled(&rb, 10, 0x33) && rb.cap == 1000,
	      "the next packet after it is there, and the buffer kept its size (len %zu, cap %zu)", pkt.len, rb.cap);

	send_packet(sv[1], 4096, 0x44, -1);
	r = rxbuf_recv(&rb, sv[0], &pkt);
	CHECK(r == 1 && pkt.len == 4096 && !pkt.truncated && filled(&rb, 4096, 0x44) && rb.cap == 4096,
	      "a packet of exactly the bound comes whole (len %zu, cap %zu)", pkt.len, rb.cap);

	rxbuf_free(&rb);
	CHECK(rxbuf_init_sized(&rb, 64, 4096) == 0, "a second buffer starts at 64 again");
	send_packet(sv[1], 10000, 0x55, -1);
	send_packet(sv[1], 20, 0x66, -1);
	r = rxbuf_recv(&rb, sv[0], &pkt);
	CHECK(r == 1 && pkt.truncated && pkt.len == 10000 && rb.cap == 4096 && filled(&rb, 4096, 0x55),
	      "a packet over the bound comes cut short, its length told (len %zu, cap %zu)", pkt.len, rb.cap);
	r = rxbuf_recv(&rb, sv[0], &pkt);
	CHECK(r == 1 && pkt.len == 20 && !pkt.truncated && filled(&rb, 20, 0x66),
	      "and the one after it is whole (len %zu)", pkt.len);

	send_packet(sv[1], 0, 0, -1);
	r = rxbuf_recv(&rb, sv[0], &pkt);
	CHECK(r == 0, "an empty packet reads as the end, as wire_recv() has it (got %d)", r);

	close(sv[1]);
	r = rxbuf_recv(&rb, sv[0], &pkt);
	CHECK(r == 0, "the other end closed: 0 (got %d)", r);

	rxbuf_free(&rb);
	close(sv[0]);
	close(marker);
	return check_summary();
}
