/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The systemd notification protocol by hand, without libsystemd: one datagram of
 * newline-separated assignments (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1) to the unix
 * socket named by $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@'), and
 * the watchdog pings at half $WATCHDOG_USEC from the libev loop.
 */
#include "health_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

struct health_notify {
	int fd; /* -1: inert */
	struct sockaddr_un addr;
	socklen_t addr_len;
	struct ev_loop *loop;
	ev_timer watchdog;
};

int health_notify_new(const char *socket_name, struct health_notify **ret)
{
	_cleanup_free_ struct health_notify *n = NULL;
	const char *name = socket_name ? socket_name : getenv("NOTIFY_SOCKET");
	size_t len;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->fd = -1;
	if (!name || !*name) {
		*ret = TAKE_PTR(n);
		return 0;
	}
	if (strncmp(name, "vsock:", 6) == 0)
		return -EAFNOSUPPORT;
	if (name[0] != '/' && name[0] != '@')
		return -EINVAL;
	len = strlen(name);
	if (len >= sizeof(n->addr.sun_path))
		return -EINVAL;
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, name, len);
	if (name[0] == '@') {
		/* Abstract: a leading NUL, and the length says where the name ends. */
		n->addr.sun_path[0] = '\0';
		n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return -errno;
	*ret = TAKE_PTR(n);
	return 0;
}

struct health_notify *health_notify_free(struct health_notify *n)
{
	if (!n)
		return NULL;
	if (n->loop)
		ev_timer_stop(n->loop, &n->watchdog);
	if (n->fd >= 0)
		(void)close(n->fd);
	free(n);
	return NULL;
}

bool health_notify_is_enabled(const struct health_notify *n)
{
	return n && n->fd >= 0;
}

int health_notify_send(struct health_notify *n, const char *text)
{
	ssize_t r;

	if (!health_notify_is_enabled(n))
		return 0;
	r = sendto(n->fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT,
		   (const struct sockaddr *)&n->addr, n->addr_len);
	if (r < 0)
		return -errno;
	return 0;
}

/* Sends prefix followed by "STATUS=<status as one line>" when status is given. */
static int health_notify_with_status(struct health_notify *n, const char *prefix,
				     const char *status)
{
	_cleanup_free_ char *msg = NULL;
	size_t plen = strlen(prefix), slen = status ? strlen(status) : 0;
	size_t pos = plen;

	if (!status)
		return health_notify_send(n, prefix);
	msg = malloc(plen + 8 + slen + 1);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, prefix, plen);
	memcpy(msg + pos, "STATUS=", 7);
	pos += 7;
	for (size_t i = 0; i < slen; i++) {
		unsigned char c = (unsigned char)status[i];

		msg[pos++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	msg[pos] = '\0';
	return health_notify_send(n, msg);
}

int health_notify_ready(struct health_notify *n, const char *status)
{
	return health_notify_with_status(n, "READY=1\n", status);
}

int health_notify_status(struct health_notify *n, const char *status)
{
	return health_notify_with_status(n, "", status ? status : "");
}

int health_notify_stopping(struct health_notify *n)
{
	return health_notify_send(n, "STOPPING=1");
}

uint64_t health_notify_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!usec || !*usec)
		return 0;
	if (pid && *pid) {
		errno = 0;
		v = strtoull(pid, &end, 10);
		if (errno || *end || v != (unsigned long long)getpid())
			return 0;
	}
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || usec[0] == '-')
		return 0;
	return v;
}

static void health_notify_on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health_notify *n = container_of(w, struct health_notify, watchdog);

	/* A lost ping is not worth a log line every few seconds; the next one follows. */
	if (health_notify_send(n, "WATCHDOG=1") < 0)
		return;
}

int health_notify_watchdog_start(struct health_notify *n, struct ev_loop *loop, uint64_t usec)
{
	double interval;

	if (usec == 0)
		usec = health_notify_watchdog_usec();
	if (usec == 0 || !health_notify_is_enabled(n))
		return 0;
	if (n->loop && n->loop != loop)
		return -EINVAL;
	interval = (double)usec / 2e6;
	n->loop = loop;
	ev_timer_stop(loop, &n->watchdog);
	ev_timer_init(&n->watchdog, health_notify_on_watchdog, interval, interval);
	ev_timer_start(loop, &n->watchdog);
	/* The first ping now: systemd starts counting at READY, and we may be late already. */
	return health_notify_send(n, "WATCHDOG=1");
}
