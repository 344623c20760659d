/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the API client's failure paths (kube_reflector.c over kube_http.c) against a
 * scripted HTTP server in the same process and loop: authentication failures and error events
 * are logged clearly, and the bearer token never appears in the log, even when the server
 * echoes it back.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "kube_cache.h"
#include "kube_config.h"
#include "kube_http.h"
#include "kube_reflector.h"
#include "log.h"

#define SECRET "Zm9vYmFyLXNlY3JldC10b2tlbi12YWx1ZQ"

struct scripted {
	const char *name;
	const char *list_reply; /* the whole HTTP response to a LIST */
	const char *watch_reply; /* to a WATCH */
	const char *log_must; /* text the log must hold */
	const char *log_must2;
};

static const struct scripted cases[] = {
	{ "401 echoing the token",
	  "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	  "{\"kind\":\"Status\",\"code\":401,\"message\":\"token " SECRET " is invalid\"}",
	  NULL, "status=401", "unauthorized: check the token" },
	{ "403", "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n"
		 "{\"kind\":\"Status\",\"code\":403,\"message\":\"services is forbidden\"}",
	  NULL, "status=403", "forbidden: the identity needs list and watch" },
	{ "watch ERROR event echoing the token",
	  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	  "{\"kind\":\"ServiceList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}",
	  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	  "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
	  "\"message\":\"internal error for " SECRET "\"}}\n",
	  "watch aborted", "watch ERROR event code=500" },
	{ "429 without Retry-After",
	  "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\n\r\n", NULL, "status=429",
	  "retry_in=" },
};

struct server {
	int fd;
	ev_io io;
	const struct scripted *script;
	unsigned requests;
	unsigned requests_with_token;
};

static void server_on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct server *s = w->data;
	char buf[8192];
	size_t len = 0;
	const char *reply;
	int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	/* The client sends a small GET: read until the end of its headers. */
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	buf[len] = '\0';
	s->requests++;
	if (strstr(buf, "Authorization: Bearer " SECRET "\r\n"))
		s->requests_with_token++;
	reply = strstr(buf, "watch=1") && s->script->watch_reply ? s->script->watch_reply :
								     s->script->list_reply;
	if (write(c, reply, strlen(reply)) < 0)
		fail_msg("write failed");
	close(c);
}

static void on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void run_case(const struct scripted *tc)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct server srv = { .script = tc };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	char kc_path[] = "/tmp/kipvs-test-reflector-XXXXXX";
	char *captured = NULL;
	size_t captured_len = 0;
	FILE *capture = open_memstream(&captured, &captured_len);
	struct kube_config *cfg = NULL;
	struct kube_cache *cache = kube_cache_new();
	struct kube_http *http;
	struct kube_reflector *r;
	struct kube_reflector_options o = {
		.kind = KUBE_KIND_SERVICE,
		.backoff_base_ms = 20,
		.backoff_cap_ms = 40,
		.watch_timeout_s = 5,
	};
	char err[256];
	ev_timer stop;
	FILE *kc;
	int kfd;

	srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(srv.fd >= 0);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv.fd, 16), 0);
	assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&sa, &sl), 0);
	ev_io_init(&srv.io, server_on_accept, srv.fd, EV_READ);
	srv.io.data = &srv;
	ev_io_start(loop, &srv.io);

	kfd = mkstemp(kc_path);
	assert_true(kfd >= 0);
	kc = fdopen(kfd, "w");
	fprintf(kc,
		"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
		"clusters:\n- name: k\n  cluster: {server: 'http://127.0.0.1:%d'}\n"
		"users:\n- name: u\n  user: {token: %s}\n",
		ntohs(sa.sin_port), SECRET);
	fclose(kc);
	assert_int_equal(kube_config_from_kubeconfig(kc_path, &cfg, err, sizeof(err)), 0);
	unlink(kc_path);

	log_set_stream(capture);
	log_set_verbosity(1);
	http = kube_http_new(loop, cfg);
	assert_non_null(http);
	r = kube_reflector_new(loop, http, cache, &o);
	assert_non_null(r);
	assert_int_equal(kube_reflector_start(r), 0);
	ev_timer_init(&stop, on_stop, 0.4, 0.);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	r = kube_reflector_free(r);
	http = kube_http_free(http);
	log_set_stream(NULL);
	log_set_verbosity(0);
	fclose(capture);

	if (srv.requests < 2 || srv.requests_with_token != srv.requests)
		fail_msg("case \"%s\": %u requests, %u with the token", tc->name, srv.requests,
			 srv.requests_with_token);
	if (!strstr(captured, tc->log_must) || !strstr(captured, tc->log_must2))
		fail_msg("case \"%s\": log lacks \"%s\" / \"%s\":\n%s", tc->name, tc->log_must,
			 tc->log_must2, captured);
	if (strstr(captured, SECRET))
		fail_msg("case \"%s\": the token is in the log:\n%s", tc->name, captured);
	free(captured);
	ev_io_stop(loop, &srv.io);
	close(srv.fd);
	kube_config_free(cfg);
	kube_cache_free(cache);
	ev_loop_destroy(loop);
}

static void test_failure_paths_hide_token(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* The redaction helper itself: every occurrence, and nothing for a short token. */
static void test_redact(void **state)
{
	struct kube_config cfg = { .server = (char *)"http://x", .token = (char *)SECRET };
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct kube_http *http = kube_http_new(loop, &cfg);
	char buf[256];

	(void)state;
	snprintf(buf, sizeof(buf), "a %s b %s", SECRET, SECRET);
	assert_string_equal(kube_http_redact(http, buf), "a REDACTED b REDACTED");
	snprintf(buf, sizeof(buf), "nothing here");
	assert_string_equal(kube_http_redact(http, buf), "nothing here");
	cfg.token = (char *)"abc";
	snprintf(buf, sizeof(buf), "abc");
	assert_string_equal(kube_http_redact(http, buf), "abc");
	cfg.token = NULL;
	kube_http_free(http);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_paths_hide_token),
		cmocka_unit_test(test_redact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
