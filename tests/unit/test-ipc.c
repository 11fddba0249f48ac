/* test-ipc.c — the transport and the dispatch rules every daemon relies on:
 * frame cap, strict unpack, id/type matching, peer-uid admission, peer-class
 * permissions, and "unknown type closes the connection". */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "ipc.h"
#include "server.h"
#include "util.h"

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
}

static void
test_roundtrip(void **state)
{
	Inkan__LoginReq req = INKAN__LOGIN_REQ__INIT;
	Inkan__LoginRep rep = INKAN__LOGIN_REP__INIT, *got;
	struct ipc_client c = { 0, 0 };
	Inkan__Envelope *env;
	ProtobufCMessage *m;
	Inkan__Status st;
	int sv[2];

	pair(sv);
	c.fd = sv[0];
	req.username = "alice";
	req.password.data = (uint8_t *)"pw";
	req.password.len = 2;
	rep.access_token = "tok";
	rep.expires_in = 60;
	/* Queue the reply first: ipc_call's first id is 1. */
	assert_int_equal(ipc_send(sv[1], 1, INKAN__MSG_TYPE__SIGNER_LOGIN_REP,
	    INKAN__STATUS__OK, NULL, &rep.base), 0);
	assert_int_equal(ipc_call(&c, INKAN__MSG_TYPE__SIGNER_LOGIN_REQ,
	    &req.base, INKAN__MSG_TYPE__SIGNER_LOGIN_REP,
	    &inkan__login_rep__descriptor, &m, &st, NULL, 0), 0);
	assert_int_equal(st, INKAN__STATUS__OK);
	got = (Inkan__LoginRep *)m;
	assert_string_equal(got->access_token, "tok");
	protobuf_c_message_free_unpacked(m, NULL);
	/* The request arrived intact with id 1. */
	assert_int_equal(ipc_recv(sv[1], &env), 0);
	assert_int_equal(env->id, 1);
	assert_int_equal(env->type, INKAN__MSG_TYPE__SIGNER_LOGIN_REQ);
	m = ipc_unpack(&inkan__login_req__descriptor, &env->body);
	assert_non_null(m);
	assert_string_equal(((Inkan__LoginReq *)m)->username, "alice");
	protobuf_c_message_free_unpacked(m, NULL);
	ipc_envelope_free(env);
	close(sv[0]);
	close(sv[1]);
}

static void
test_wrong_id_and_type(void **state)
{
	Inkan__ListReq req = INKAN__LIST_REQ__INIT;
	Inkan__ListRep rep = INKAN__LIST_REP__INIT;
	struct ipc_client c = { 0, 0 };
	ProtobufCMessage *m;
	Inkan__Status st;
	int sv[2];

	pair(sv);
	c.fd = sv[0];
	req.access_token = "t";
	/* Reply with a stale id. */
	ipc_send(sv[1], 7, INKAN__MSG_TYPE__SIGNER_LIST_REP, 0, NULL, &rep.base);
	assert_int_equal(ipc_call(&c, INKAN__MSG_TYPE__SIGNER_LIST_REQ, &req.base,
	    INKAN__MSG_TYPE__SIGNER_LIST_REP, &inkan__list_rep__descriptor, &m,
	    &st, NULL, 0), -EPROTO);
	assert_null(m);
	/* Right id (2), wrong reply type: a SIGN reply to a LIST request. */
	ipc_send(sv[1], 2, INKAN__MSG_TYPE__SIGNER_SIGN_REP, 0, NULL, &rep.base);
	assert_int_equal(ipc_call(&c, INKAN__MSG_TYPE__SIGNER_LIST_REQ, &req.base,
	    INKAN__MSG_TYPE__SIGNER_LIST_REP, &inkan__list_rep__descriptor, &m,
	    &st, NULL, 0), -EPROTO);
	close(sv[0]);
	close(sv[1]);
}

static void
test_error_status(void **state)
{
	Inkan__ListReq req = INKAN__LIST_REQ__INIT;
	struct ipc_client c = { 0, 0 };
	ProtobufCMessage *m;
	Inkan__Status st;
	char detail[64];
	int sv[2];

	pair(sv);
	c.fd = sv[0];
	req.access_token = "t";
	ipc_send(sv[1], 1, INKAN__MSG_TYPE__SIGNER_LIST_REP,
	    INKAN__STATUS__INVALID_TOKEN, "expired", NULL);
	assert_int_equal(ipc_call(&c, INKAN__MSG_TYPE__SIGNER_LIST_REQ, &req.base,
	    INKAN__MSG_TYPE__SIGNER_LIST_REP, &inkan__list_rep__descriptor, &m,
	    &st, detail, sizeof(detail)), 0);
	assert_int_equal(st, INKAN__STATUS__INVALID_TOKEN);
	assert_null(m);
	assert_string_equal(detail, "expired");
	close(sv[0]);
	close(sv[1]);
}

static void
test_oversize_and_garbage(void **state)
{
	Inkan__Envelope *env;
	size_t big = IPC_FRAME_MAX + 100;
	uint8_t *buf = calloc(1, big);
	/* Envelope with an unknown field 15 (varint) appended. */
	uint8_t unknown[] = { 0x08, 0x01, 0x10, 0x64, 0x78, 0x01 };
	uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	uint8_t ok[] = { 0x08, 0x01, 0x10, 0x64 };
	int sv[2], n = 1 << 20;

	pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
	if (send(sv[0], buf, big, 0) == (ssize_t)big)
		assert_int_equal(ipc_recv(sv[1], &env), -EMSGSIZE);
	assert_int_equal(send(sv[0], garbage, sizeof(garbage), 0), sizeof(garbage));
	assert_int_equal(ipc_recv(sv[1], &env), -EBADMSG);
	assert_int_equal(send(sv[0], unknown, sizeof(unknown), 0), sizeof(unknown));
	assert_int_equal(ipc_recv(sv[1], &env), -EBADMSG);
	/* The stream is still usable after each rejection. */
	assert_int_equal(send(sv[0], ok, sizeof(ok), 0), sizeof(ok));
	assert_int_equal(ipc_recv(sv[1], &env), 0);
	assert_int_equal(env->type, 100);
	ipc_envelope_free(env);
	/* Oversize send is refused locally too. */
	close(sv[0]);
	assert_int_equal(ipc_recv(sv[1], &env), -ECONNRESET);
	close(sv[1]);
	free(buf);
}

static void
test_strict_body(void **state)
{
	/* LoginReq without its required password field. */
	uint8_t body[] = { 0x0a, 0x01, 'a' };
	ProtobufCBinaryData b = { sizeof(body), body };
	uint8_t body2[] = { 0x0a, 0x01, 'a', 0x12, 0x00, 0x78, 0x01 };
	ProtobufCBinaryData b2 = { sizeof(body2), body2 };

	assert_null(ipc_unpack(&inkan__login_req__descriptor, &b));
	assert_null(ipc_unpack(&inkan__login_req__descriptor, &b2));
	b2.len = 5;
	ProtobufCMessage *m = ipc_unpack(&inkan__login_req__descriptor, &b2);
	assert_non_null(m);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* --- server: admission and dispatch --- */

static volatile int stop;
static int handled;

static Inkan__Status
answer_list(struct srv_ctx *c, const ProtobufCMessage *req)
{
	Inkan__ListRep rep = INKAN__LIST_REP__INIT;

	handled++;
	srv_reply(c, &rep.base);
	return INKAN__STATUS__OK;
}

static Inkan__Status
answer_fail(struct srv_ctx *c, const ProtobufCMessage *req)
{
	srv_detail(c, "no");
	return INKAN__STATUS__DENIED;
}

static const struct srv_handler tab[] = {
	{ INKAN__MSG_TYPE__SIGNER_LIST_REQ, PEER_SIC, &inkan__list_req__descriptor, answer_list },
	{ INKAN__MSG_TYPE__SIGNER_REVOKE_REQ, PEER_SIC, &inkan__revoke_req__descriptor, answer_fail },
	{ INKAN__MSG_TYPE__ADMIN_USER_LIST_REQ, PEER_ADMIN, &inkan__user_list_req__descriptor, answer_list },
};

struct srv_arg { struct srv_listener *ls; int n; };

static void *
srv_thread(void *p)
{
	struct srv_arg *a = p;

	srv_run(a->ls, a->n, tab, 3, NULL, &stop);
	return NULL;
}

static int
call_list(const char *path, uint32_t type, const ProtobufCMessage *req,
    Inkan__Status *st)
{
	struct ipc_client c = { 0, 0 };
	ProtobufCMessage *m = NULL;
	int r;

	c.fd = ipc_connect(path);
	if (c.fd < 0)
		return c.fd;
	r = ipc_call(&c, type, req, ipc_reply_type(type),
	    type == INKAN__MSG_TYPE__ADMIN_USER_LIST_REQ ?
	    &inkan__user_list_rep__descriptor : &inkan__list_rep__descriptor,
	    &m, st, NULL, 0);
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	close(c.fd);
	return r;
}

static void
test_server_rules(void **state)
{
	char dir[] = "/tmp/inkan-ipc-XXXXXX", p1[128], p2[128];
	struct srv_listener ls[2];
	struct srv_arg a = { ls, 2 };
	Inkan__ListReq lr = INKAN__LIST_REQ__INIT;
	Inkan__RevokeReq rr = INKAN__REVOKE_REQ__INIT;
	Inkan__UserListReq ur = INKAN__USER_LIST_REQ__INIT;
	Inkan__Status st;
	pthread_t t;

	assert_non_null(mkdtemp(dir));
	snprintf(p1, sizeof p1, "%s/signer.sock", dir);
	snprintf(p2, sizeof p2, "%s/admin.sock", dir);
	memset(ls, 0, sizeof ls);
	ls[0] = (struct srv_listener){ "signer", ipc_listen(p1, 0600), PEER_SIC, { getuid() }, 1, NULL, NULL };
	/* The admin listener admits nobody we can be. */
	ls[1] = (struct srv_listener){ "admin", ipc_listen(p2, 0600), PEER_ADMIN, { getuid() + 4242 }, 1, NULL, NULL };
	assert_true(ls[0].fd >= 0 && ls[1].fd >= 0);
	lr.access_token = "x";
	rr.access_token = "x";
	stop = 0;
	pthread_create(&t, NULL, srv_thread, &a);

	/* Permitted message: answered. */
	assert_int_equal(call_list(p1, INKAN__MSG_TYPE__SIGNER_LIST_REQ, &lr.base, &st), 0);
	assert_int_equal(st, INKAN__STATUS__OK);
	assert_int_equal(handled, 1);
	/* Handler's refusal travels as a status, connection intact. */
	assert_int_equal(call_list(p1, INKAN__MSG_TYPE__SIGNER_REVOKE_REQ, &rr.base, &st), 0);
	assert_int_equal(st, INKAN__STATUS__DENIED);
	/* An admin message on the signer socket: connection closed, no answer. */
	assert_int_equal(call_list(p1, INKAN__MSG_TYPE__ADMIN_USER_LIST_REQ, &ur.base, &st), -ECONNRESET);
	/* A type nobody handles: closed. */
	assert_int_equal(call_list(p1, 999, &lr.base, &st), -ECONNRESET);
	/* Wrong body for the type (required field missing): closed. */
	assert_int_equal(call_list(p1, INKAN__MSG_TYPE__SIGNER_LIST_REQ, &ur.base, &st), -ECONNRESET);
	/* A peer uid not on the list is refused at accept. */
	st = INKAN__STATUS__OK;
	int r = call_list(p2, INKAN__MSG_TYPE__ADMIN_USER_LIST_REQ, &ur.base, &st);
	assert_true(r == -ECONNRESET || r == -EPIPE);
	assert_int_equal(handled, 1);

	stop = 1;
	pthread_join(t, NULL);
	close(ls[0].fd);
	close(ls[1].fd);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
}

/* common/util.c:read_fd_wiped — secret input of the restore modes: all of
 * it across buffer growth, and the limit, also one below the first buffer. */
static void
feed(const uint8_t *data, size_t len, int *rfd)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	if (fork() == 0) {
		close(p[0]);
		(void)!write(p[1], data, len);
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
}

static void
test_read_fd_wiped(void **state)
{
	static uint8_t big[300000];
	uint8_t *out;
	size_t len;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	feed(big, sizeof big, &fd);
	assert_int_equal(read_fd_wiped(fd, sizeof big, &out, &len), 0);
	assert_int_equal(len, sizeof big);
	assert_memory_equal(out, big, sizeof big);
	free_wiped(out, len);
	close(fd);
	feed(big, sizeof big, &fd);
	assert_int_equal(read_fd_wiped(fd, sizeof big - 1, &out, &len), -EFBIG);
	assert_null(out);
	close(fd);
	feed(big, 100, &fd);
	assert_int_equal(read_fd_wiped(fd, 99, &out, &len), -EFBIG);
	close(fd);
	feed(big, 0, &fd);
	assert_int_equal(read_fd_wiped(fd, 10, &out, &len), 0);
	assert_int_equal(len, 0);
	free_wiped(out, len);
	close(fd);
	while (wait(NULL) > 0)
		;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_wrong_id_and_type),
		cmocka_unit_test(test_error_status),
		cmocka_unit_test(test_oversize_and_garbage),
		cmocka_unit_test(test_strict_body),
		cmocka_unit_test(test_server_rules),
		cmocka_unit_test(test_read_fd_wiped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
