/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for health/health_notify.c: the sd_notify datagrams reach a test socket (abstract
 * and path), the status is one line, $WATCHDOG_USEC/$WATCHDOG_PID are read as systemd means
 * them, and the watchdog pings arrive from a running libev loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "health.h"

/* A receiving datagram socket bound to name ("@..." abstract or a path). */
static int listen_dgram(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	socklen_t sl;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@') {
		sa.sun_path[0] = '\0';
		sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
	return fd;
}

/* The next datagram as a string, or "" when none is waiting. */
static const char *recv_msg(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void exercise(const char *name)
{
	struct health_notify *n = NULL;
	char buf[512];
	int fd = listen_dgram(name);

	assert_int_equal(health_notify_new(name, &n), 0);
	assert_true(health_notify_is_enabled(n));
	/* Nothing is sent until the caller says so (READY waits for the first sync). */
	assert_string_equal(recv_msg(fd, buf, sizeof(buf)), "");
	assert_int_equal(health_notify_ready(n, "synced 3 services\nin 2ms\t"), 0);
	assert_string_equal(recv_msg(fd, buf, sizeof(buf)),
			    "READY=1\nSTATUS=synced 3 services in 2ms ");
	assert_int_equal(health_notify_status(n, "watching"), 0);
	assert_string_equal(recv_msg(fd, buf, sizeof(buf)), "STATUS=watching");
	assert_int_equal(health_notify_ready(n, NULL), 0);
	assert_string_equal(recv_msg(fd, buf, sizeof(buf)), "READY=1\n");
	assert_int_equal(health_notify_stopping(n), 0);
	assert_string_equal(recv_msg(fd, buf, sizeof(buf)), "STOPPING=1");
	assert_null(health_notify_free(n));
	close(fd);
}

static void test_abstract(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "@kipvs-test-notify-%d", (int)getpid());
	exercise(name);
}

static void test_path(void **state)
{
	char dir[] = "/tmp/kipvs-notify-XXXXXX", path[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	exercise(path);
	unlink(path);
	rmdir(dir);
}

static void test_env_and_errors(void **state)
{
	struct health_notify *n = NULL;
	char name[64], buf[128], longname[200];
	int fd;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(health_notify_new(NULL, &n), 0);
	assert_false(health_notify_is_enabled(n));
	assert_int_equal(health_notify_ready(n, "x"), 0); /* inert: succeeds, sends nothing */
	assert_int_equal(health_notify_watchdog_start(n, EV_DEFAULT, 1000000), 0);
	n = health_notify_free(n);

	snprintf(name, sizeof(name), "@kipvs-test-env-%d", (int)getpid());
	fd = listen_dgram(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(health_notify_new(NULL, &n), 0);
	assert_int_equal(health_notify_stopping(n), 0);
	assert_string_equal(recv_msg(fd, buf, sizeof(buf)), "STOPPING=1");
	n = health_notify_free(n);
	unsetenv("NOTIFY_SOCKET");
	close(fd);

	assert_int_equal(health_notify_new("relative/path", &n), -EINVAL);
	assert_int_equal(health_notify_new("vsock:2:1234", &n), -EAFNOSUPPORT);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(health_notify_new(longname, &n), -EINVAL);
	/* Nobody listening: the error comes back, not a crash. */
	assert_int_equal(health_notify_new("@kipvs-test-nobody-listens", &n), 0);
	assert_true(health_notify_ready(n, "x") < 0);
	health_notify_free(n);
	assert_null(health_notify_free(NULL));
}

static void test_watchdog_usec(void **state)
{
	char self[32];
	static const struct {
		const char *usec, *pid; /* NULL: unset; "self": this process */
		uint64_t want;
	} cases[] = {
	    {NULL, NULL, 0},	 {"2000000", NULL, 2000000}, {"2000000", "self", 2000000},
	    {"2000000", "1", 0}, {"abc", NULL, 0},	     {"-5", NULL, 0},
	    {"", NULL, 0},
	};

	(void)state;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t got;

		if (cases[i].usec)
			setenv("WATCHDOG_USEC", cases[i].usec, 1);
		else
			unsetenv("WATCHDOG_USEC");
		if (cases[i].pid)
			setenv("WATCHDOG_PID",
			       strcmp(cases[i].pid, "self") == 0 ? self : cases[i].pid, 1);
		else
			unsetenv("WATCHDOG_PID");
		got = health_notify_watchdog_usec();
		if (got != cases[i].want)
			fail_msg("case %zu (USEC=%s PID=%s): got %llu want %llu", i,
				 cases[i].usec ? cases[i].usec : "-",
				 cases[i].pid ? cases[i].pid : "-", (unsigned long long)got,
				 (unsigned long long)cases[i].want);
	}
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void test_watchdog_pings(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct health_notify *n = NULL;
	char name[64], buf[64];
	ev_timer stop;
	int fd, pings = 0;

	(void)state;
	snprintf(name, sizeof(name), "@kipvs-test-watchdog-%d", (int)getpid());
	fd = listen_dgram(name);
	assert_int_equal(health_notify_new(name, &n), 0);
	/* 100 ms watchdog: a ping at start, then every 50 ms. */
	assert_int_equal(health_notify_watchdog_start(n, loop, 100000), 0);
	ev_timer_init(&stop, on_stop, 0.235, 0.);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	while (strcmp(recv_msg(fd, buf, sizeof(buf)), "") != 0) {
		assert_string_equal(buf, "WATCHDOG=1");
		pings++;
	}
	if (pings < 3 || pings > 6)
		fail_msg("got %d watchdog pings in 235 ms at a 50 ms interval", pings);
	/* After free, the loop turns without pinging. */
	n = health_notify_free(n);
	ev_timer_set(&stop, 0.12, 0.);
	ev_timer_start(loop, &stop);
	ev_run(loop, 0);
	assert_string_equal(recv_msg(fd, buf, sizeof(buf)), "");
	close(fd);
	ev_loop_destroy(loop);
}

/* Counts the watchdog pings as they arrive and stops the loop at the second. */
struct ping_clock {
	ev_io io;
	int pings;
	ev_tstamp first, second;
};

static void on_ping(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ping_clock *c = (struct ping_clock *)w;
	char buf[64];

	(void)revents;
	while (strcmp(recv_msg(w->fd, buf, sizeof(buf)), "") != 0) {
		assert_string_equal(buf, "WATCHDOG=1");
		ev_now_update(loop);
		if (++c->pings == 1)
			c->first = ev_now(loop);
		else if (c->pings == 2)
			c->second = ev_now(loop);
	}
	if (c->pings >= 2)
		ev_break(loop, EVBREAK_ALL);
}

/*
 * The interval is half of $WATCHDOG_USEC, as sd_watchdog_enabled(3) asks: with 1 s the second
 * ping comes about 0.5 s after the first, where a ping per full interval would take 1 s.
 */
static void test_watchdog_half_interval(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct health_notify *n = NULL;
	struct ping_clock c = {0};
	char name[64];
	ev_timer stop;
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "@kipvs-test-watchdog-half-%d", (int)getpid());
	fd = listen_dgram(name);
	ev_io_init(&c.io, on_ping, fd, EV_READ);
	ev_io_start(loop, &c.io);
	ev_timer_init(&stop, on_stop, 3., 0.); /* a bound, should the pings not come */
	ev_timer_start(loop, &stop);
	assert_int_equal(health_notify_new(name, &n), 0);
	assert_int_equal(health_notify_watchdog_start(n, loop, 1000000), 0);
	ev_run(loop, 0);
	if (c.pings < 2)
		fail_msg("%d watchdog pings in 3 s at WATCHDOG_USEC=1 s", c.pings);
	if (c.second - c.first < 0.4 || c.second - c.first > 0.8)
		fail_msg("%.3f s between watchdog pings at WATCHDOG_USEC=1 s, want 0.5 s",
			 c.second - c.first);
	n = health_notify_free(n);
	close(fd);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_abstract),	   cmocka_unit_test(test_path),
	    cmocka_unit_test(test_env_and_errors), cmocka_unit_test(test_watchdog_usec),
	    cmocka_unit_test(test_watchdog_pings),
	    cmocka_unit_test(test_watchdog_half_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
