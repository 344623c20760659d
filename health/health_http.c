/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One small HTTP server: a libmicrohttpd daemon without threads (MHD_USE_EPOLL), driven by the
 * caller's libev loop through MHD's epoll descriptor and MHD_get_timeout(). We open the
 * listening socket ourselves so that a bind failure comes back as a real -errno.
 */
#include "health_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cleanup.h"
#include "log.h"

/* Hands out an fd declared _cleanup_close_, leaving -1 behind. */
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

struct health_http {
	struct MHD_Daemon *mhd;
	struct ev_loop *loop;
	ev_io io;	/* MHD's epoll descriptor */
	ev_timer timer; /* MHD's own timeouts */
	uint16_t port;
	health_http_handler_fn fn;
	void *userdata;
};

/* Re-arms the timer from MHD_get_timeout(): 0 means MHD has work right now. */
static void health_http_schedule(struct health_http *srv)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(srv->loop, &srv->timer);
	if (MHD_get_timeout(srv->mhd, &ms) != MHD_YES)
		return;
	ev_timer_set(&srv->timer, (double)ms / 1000.0, 0.);
	ev_timer_start(srv->loop, &srv->timer);
}

static void health_http_on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct health_http *srv = container_of(w, struct health_http, io);

	(void)MHD_run(srv->mhd);
	health_http_schedule(srv);
}

static void health_http_on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health_http *srv = container_of(w, struct health_http, timer);

	(void)MHD_run(srv->mhd);
	health_http_schedule(srv);
}

static enum MHD_Result health_http_queue(struct MHD_Connection *conn,
					 const struct health_http_reply *reply)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (reply->content_type)
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					      reply->content_type);
	for (size_t i = 0; i < ARRAY_SIZE(reply->header_names); i++)
		if (reply->header_names[i])
			(void)MHD_add_response_header(resp, reply->header_names[i],
						      reply->header_values[i]);
	ret = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* MHD's access handler: answers on the first call; a request body is never read. */
static enum MHD_Result health_http_on_request(void *cls, struct MHD_Connection *conn,
					      const char *url, const char *method,
					      const char *version, const char *upload_data,
					      size_t *upload_data_size, void **req_cls)
{
	struct health_http *srv = cls;
	struct health_http_reply reply = {.status = 500};
	enum MHD_Result ret;
	int r;

	r = srv->fn(srv->userdata, method, url, &reply);
	if (r < 0) {
		free(reply.body);
		reply = (struct health_http_reply){
		    .status = MHD_HTTP_INTERNAL_SERVER_ERROR,
		    .content_type = "text/plain; charset=utf-8",
		};
	}
	ret = health_http_queue(conn, &reply);
	free(reply.body);
	return ret;
}

static void health_http_on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void health_http_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct health_http *srv = cls;
	char text[256], quoted[300];
	size_t len;

	if (!log_is_enabled(LOG_LEVEL_DEBUG))
		return;
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	log_debug(HEALTH_COMPONENT, "libmicrohttpd", "port=%u detail=%s", srv->port,
		  log_quote(quoted, sizeof(quoted), text));
}

/* A bound, listening, non-blocking socket. Returns the fd or -errno. */
static int health_http_listen(const struct net_addr *addr, uint16_t port, uint16_t *ret_port)
{
	struct sockaddr_storage ss = {0};
	socklen_t sslen;
	int family = addr && addr->family ? addr->family : AF_INET6;
	_cleanup_close_ int fd = -1;
	int one = 1, zero = 0;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 && family == AF_INET6 && !(addr && addr->family) && errno == EAFNOSUPPORT) {
		/* No IPv6 on this host: every IPv4 address. */
		family = AF_INET;
		fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		static const uint8_t unspecified[16];
		bool any = !(addr && addr->family) || memcmp(addr->bytes, unspecified, 16) == 0;

		/* The wildcard (unset or "::", as Go) takes IPv4 too; an address only itself. */
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof(one)) < 0)
			return -errno;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (!any)
			memcpy(&sin6->sin6_addr, addr->bytes, 16);
		sslen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (addr && addr->family)
			memcpy(&sin->sin_addr, addr->bytes, 4);
		sslen = sizeof(*sin);
	}
	if (bind(fd, (struct sockaddr *)&ss, sslen) < 0)
		return -errno;
	if (listen(fd, 64) < 0)
		return -errno;
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return -errno;
	*ret_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					     : ((struct sockaddr_in *)&ss)->sin_port);
	return TAKE_FD(fd);
}

int health_http_new(struct ev_loop *loop, const struct net_addr *addr, uint16_t port,
		    health_http_handler_fn fn, void *userdata, struct health_http **ret)
{
	_cleanup_free_ struct health_http *srv = NULL;
	const union MHD_DaemonInfo *info;
	int fd;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->fn = fn;
	srv->userdata = userdata;
	fd = health_http_listen(addr, port, &srv->port);
	if (fd < 0)
		return fd;
	/* MHD owns fd from here: MHD_stop_daemon() closes it. */
	srv->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, health_http_on_request, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, health_http_on_mhd_log, srv, MHD_OPTION_LISTEN_SOCKET,
	    (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HEALTH_HTTP_MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)(HEALTH_HTTP_MAX_CONNECTIONS / 2),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEALTH_HTTP_MAX_REQUEST,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HEALTH_HTTP_IDLE_TIMEOUT, MHD_OPTION_END);
	if (!srv->mhd) {
		(void)close(fd);
		return -EIO;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		MHD_stop_daemon(srv->mhd);
		return -EIO;
	}
	ev_io_init(&srv->io, health_http_on_readable, info->epoll_fd, EV_READ);
	ev_io_start(loop, &srv->io);
	ev_init(&srv->timer, health_http_on_timeout);
	health_http_schedule(srv);
	*ret = TAKE_PTR(srv);
	return 0;
}

uint16_t health_http_port(const struct health_http *srv)
{
	return srv ? srv->port : 0;
}

struct health_http *health_http_free(struct health_http *srv)
{
	if (!srv)
		return NULL;
	ev_io_stop(srv->loop, &srv->io);
	ev_timer_stop(srv->loop, &srv->timer);
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd);
	free(srv);
	return NULL;
}
