/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libpidrestore against a scripted daemon (a child process on a socket of
 * this test's own): released and claimed events come with who released or
 * claimed the reservation; an event
 * of a type the library does not know is skipped; the daemon's goodbye (a
 * response to request 0) is reported with its errno and its words, not as
 * a protocol error; a release of a user's reservations is not sent to a
 * daemon that does not announce it; and the kernel check of
 * pidrestorectl check --local comes out as the daemon's would. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pidrestore-raw.h"
#include "pidrestore.h"
#include "pidrestore.pb-c.h"
#include "wire.h"

static void send_msg(int fd, const Pidrestore__ServerMessage *msg)
{
	uint8_t buf[4096];
	size_t len = pidrestore__server_message__pack(msg, buf);

	if (wire_send(fd, buf, len, NULL, 0) < 0)
		_exit(3);
}

static void send_event(int fd, Pidrestore__Event *ev)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;

	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_EVENT;
	msg.event = ev;
	send_msg(fd, &msg);
}

/* Answers Hello (announcing release-uid when told to), then sends what the
 * script of the test needs, then says goodbye and closes. */
static void fake_daemon(int listen_fd, bool release_uid)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__HelloReply hello = PIDRESTORE__HELLO_REPLY__INIT;
	Pidrestore__Event ev = PIDRESTORE__EVENT__INIT;
	Pidrestore__ReleasedEvent rel = PIDRESTORE__RELEASED_EVENT__INIT;
	Pidrestore__ClaimedEvent cl = PIDRESTORE__CLAIMED_EVENT__INIT;
	char *features[] = { "spawn", "release-uid" };
	int32_t pids[] = { 4242, 31000 };
	/* ServerMessage.event { field 9 varint 1 }: an event body from a newer
	 * daemon. */
	static const uint8_t unknown_event[] = { 0x12, 0x02, 0x48, 0x01 };
	uint8_t buf[4096];
	Pidrestore__Request *req;
	ssize_t n;
	int fd = accept(listen_fd, NULL, NULL);

	if (fd < 0)
		_exit(3);
	n = recv(fd, buf, sizeof(buf), 0);
	req = n > 0 ? pidrestore__request__unpack(NULL, (size_t)n, buf) : NULL;
	if (!req || req->body_case != PIDRESTORE__REQUEST__BODY_HELLO)
		_exit(3);
	hello.version = 1;
	hello.n_features = release_uid ? 2 : 1;
	hello.features = features;
	resp.id = req->id;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_HELLO;
	resp.hello = &hello;
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = &resp;
	send_msg(fd, &msg);
	pidrestore__request__free_unpacked(req, NULL);

	rel.id = 7;
	rel.n_pids = 2;
	rel.pids = pids;
	rel.has_by_uid = 1;
	rel.by_uid = 1000;
	rel.has_by_pid = 1;
	rel.by_pid = 4711;
	rel.has_signal = 1;
	rel.signal = 15;
	ev.body_case = PIDRESTORE__EVENT__BODY_RELEASED;
	ev.released = &rel;
	send_event(fd, &ev);
	cl.id = 8;
	cl.n_pids = 1;
	cl.pids = pids;
	cl.has_by_uid = 1;
	cl.by_uid = 1001;
	cl.has_by_pid = 1;
	cl.by_pid = 4712;
	ev.body_case = PIDRESTORE__EVENT__BODY_CLAIMED;
	ev.claimed = &cl;
	send_event(fd, &ev);
	if (wire_send(fd, unknown_event, sizeof(unknown_event), NULL, 0) < 0)
		_exit(3);

	pidrestore__response__init(&resp);
	resp.id = 0;
	resp.has_error = 1;
	resp.error = ETIMEDOUT;
	resp.message = "the connection was idle for 1 s (--idle-timeout); pidrestored closed it; connect again";
	msg.response = &resp;
	send_msg(fd, &msg);
	close(fd);
	_exit(0);
}

static pid_t start_fake(const char *path, bool release_uid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	pid_t pid;

	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		perror("fake daemon socket");
		exit(99);
	}
	pid = fork();
	if (pid == 0)
		fake_daemon(fd, release_uid);
	close(fd);
	return pid;
}

static void test_events(const char *path)
{
	pid_t child = start_fake(path, true);
	pidrestore_event ev = { 0 };
	pidrestore *c = NULL;
	int r;

	r = pidrestore_connect(path, &c);
	CHECK(r == 0, "connects to the scripted daemon (%d: %s)", r, pidrestore_last_error(NULL));
	if (r < 0)
		goto out;
	r = pidrestore_wait_event(c, 5000, &ev);
	CHECK(r == 1 && ev.type == PIDRESTORE_EVENT_RELEASED && ev.id == 7, "a released event for reservation 7 (r=%d type=%d)",
	      r, (int)ev.type);
	CHECK(ev.n_pids == 2 && ev.pids[0] == 4242 && ev.pids[1] == 31000, "with its PIDs 4242,31000");
	CHECK(ev.by_uid == 1000 && ev.by_pid == 4711 && ev.signal == 15,
	      "and who released it: uid %u, pid %d, by a kill with signal %d", (unsigned int)ev.by_uid, (int)ev.by_pid,
	      ev.signal);
	r = pidrestore_wait_event(c, 5000, &ev);
	CHECK(r == 1 && ev.type == PIDRESTORE_EVENT_CLAIMED && ev.id == 8, "a claimed event for reservation 8 (r=%d type=%d)",
	      r, (int)ev.type);
	CHECK(ev.n_pids == 1 && ev.pids[0] == 4242 && ev.exit_code == -1, "with its PID 4242 and no exit status");
	CHECK(ev.by_uid == 1001 && ev.by_pid == 4712 && ev.signal == 0, "and who claimed it: uid %u, pid %d",
	      (unsigned int)ev.by_uid, (int)ev.by_pid);
	r = pidrestore_wait_event(c, 5000, &ev);
	CHECK(r == -ETIMEDOUT, "the unknown event is skipped; the goodbye is reported as ETIMEDOUT (%d)", r);
	CHECK(strcmp(pidrestore_last_error(c),
		     "the connection was idle for 1 s (--idle-timeout); pidrestored closed it; connect again") == 0,
	      "in the daemon's words: '%s'", pidrestore_last_error(c));
	CHECK(!strstr(pidrestore_last_error(c), "not pending"), "not as a response to a request that is not pending");
out:
	pidrestore_disconnect(c);
	waitpid(child, NULL, 0);
}

static void test_release_user_unannounced(const char *path)
{
	pid_t child = start_fake(path, false);
	pidrestore *c = NULL;
	int r;

	r = pidrestore_connect(path, &c);
	CHECK(r == 0, "connects to a daemon without release-uid");
	if (r < 0)
		goto out;
	r = pidrestore_release_user(c, PIDRESTORE_UID_SELF);
	CHECK(r == -EOPNOTSUPP, "pidrestore_release_user() to it: EOPNOTSUPP, nothing sent (%d)", r);
	CHECK(strstr(pidrestore_last_error(c), "older") != NULL, "and says the daemon is older: '%s'",
	      pidrestore_last_error(c));
out:
	pidrestore_disconnect(c);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static void test_kernel_check(void)
{
	Pidrestore__CheckReply reply = PIDRESTORE__CHECK_REPLY__INIT;
	Pidrestore__KernelFeature f1 = PIDRESTORE__KERNEL_FEATURE__INIT, f2 = PIDRESTORE__KERNEL_FEATURE__INIT;
	Pidrestore__KernelFeature *features[] = { &f1, &f2 };
	pidrestore_kernel_check *k = NULL;
	int r;

	f1.name = "clone3-set-tid";
	f1.available = 1;
	f1.has_required = 1;
	f1.required = 1;
	f1.detail = "pid_max 4194304";
	f2.name = "SO_PEERPIDFD";
	f2.without = "identifies clients by pidfd_open()";
	reply.n_features = 2;
	reply.features = features;
	reply.has_probed_by_pid = 1;
	reply.probed_by_pid = 321;
	r = pidrestore_raw_kernel_check(&reply, &k);
	CHECK(r == 0 && k, "a check reply converts (%d)", r);
	if (!k)
		return;
	CHECK(k->kernel == NULL, "an unset kernel release is NULL");
	CHECK(k->probed_by_pid == 321 && k->n_features == 2, "the pid and the count of features");
	CHECK(strcmp(k->features[0]->name, "clone3-set-tid") == 0 && k->features[0]->available &&
		      k->features[0]->required && strcmp(k->features[0]->detail, "pid_max 4194304") == 0 &&
		      !k->features[0]->without,
	      "the first feature, with its detail and no 'without'");
	CHECK(strcmp(k->features[1]->name, "SO_PEERPIDFD") == 0 && !k->features[1]->available &&
		      !k->features[1]->required && !k->features[1]->detail &&
		      strcmp(k->features[1]->without, "identifies clients by pidfd_open()") == 0,
	      "the second, missing, with what is done without it");
	CHECK((char *)k->features[1]->without > (char *)k && (char *)k->features[1]->without < (char *)k + 4096,
	      "every string is in the one block the caller frees");
	free(k);
}

int main(void)
{
	char dir[] = "/tmp/test-lib-events.XXXXXX";
	char path[128];

	if (!mkdtemp(dir))
		return 99;
	snprintf(path, sizeof(path), "%s/sock", dir);
	test_events(path);
	test_release_user_unannounced(path);
	test_kernel_check();
	unlink(path);
	rmdir(dir);
	return check_summary();
}
