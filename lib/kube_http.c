/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl's multi socket interface on libev (the "hiperfifo" pattern): curl tells us which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION -> ev_io) and when to wake it
 * (CURLMOPT_TIMERFUNCTION -> ev_timer); we call curl_multi_socket_action from those watchers
 * and hand finished transfers to their owners. Nothing here blocks.
 */
#include "kube_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <ev.h>

#include "cleanup.h"
#include "kube_config.h"

#define KUBE_HTTP_BODY_MAX 2048
#define KUBE_HTTP_CONNECT_TIMEOUT_MS 10000L
#define KUBE_HTTP_KEEPIDLE_S 30L
#define KUBE_HTTP_KEEPINTVL_S 10L

struct kube_http_sock {
	ev_io io;
	struct kube_http *http;
	curl_socket_t fd;
	struct kube_http_sock *next, *prev;
};

struct kube_http_req {
	struct kube_http *http;
	CURL *easy;
	struct curl_slist *headers;
	kube_http_data_fn on_data;
	kube_http_done_fn on_done;
	void *userdata;
	int abort_err;
	size_t body_len;
	char body[KUBE_HTTP_BODY_MAX + 1];
	char errbuf[CURL_ERROR_SIZE];
	struct kube_http_req *next, *prev;
};

struct kube_http {
	struct ev_loop *loop;
	struct kube_config *cfg;
	CURLM *multi;
	ev_timer timer;
	struct kube_http_req *reqs;
	struct kube_http_sock *socks;
	uint64_t connects;
	uint64_t requests;
	int last_version;
	bool global_init;
};

static int kube_http_errno(CURLcode code)
{
	switch (code) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return -EKEYREJECTED;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
		return -ENOKEY;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

static void kube_http_slist_free(struct curl_slist *list)
{
	/* The Authorization header holds the token: wipe it before it goes back to malloc. */
	for (struct curl_slist *l = list; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

static void kube_http_req_free(struct kube_http_req *req)
{
	struct kube_http *http = req->http;

	if (req->easy) {
		(void)curl_multi_remove_handle(http->multi, req->easy);
		curl_easy_cleanup(req->easy);
	}
	kube_http_slist_free(req->headers);
	if (req->prev)
		req->prev->next = req->next;
	else if (http->reqs == req)
		http->reqs = req->next;
	if (req->next)
		req->next->prev = req->prev;
	free(req);
}

struct kube_http_req *kube_http_req_cancel(struct kube_http_req *req)
{
	if (req)
		kube_http_req_free(req);
	return NULL;
}

/* Records the HTTP version req's response came in, for kube_http_last_version(). */
static void kube_http_note_version(struct kube_http_req *req)
{
	long version = 0;

	if (curl_easy_getinfo(req->easy, CURLINFO_HTTP_VERSION, &version) == CURLE_OK && version)
		req->http->last_version = version == CURL_HTTP_VERSION_2_0 ? 2 : 1;
}

static void kube_http_check_done(struct kube_http *http)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(http->multi, &left))) {
		struct kube_http_req *req = NULL;
		struct kube_http_result res = { 0 };
		curl_off_t retry_after = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		if (!req)
			continue;
		(void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &res.status);
		(void)curl_easy_getinfo(req->easy, CURLINFO_RETRY_AFTER, &retry_after);
		kube_http_note_version(req);
		res.retry_after_s = retry_after > 0 ? (long)retry_after : 0;
		res.err = msg->data.result == CURLE_WRITE_ERROR && req->abort_err ?
				  req->abort_err :
				  kube_http_errno(msg->data.result);
		res.detail = req->errbuf[0] ? req->errbuf : curl_easy_strerror(msg->data.result);
		if (msg->data.result == CURLE_OK)
			res.detail = "";
		req->body[req->body_len] = '\0';
		res.body = req->body;
		res.body_len = req->body_len;
		/* Detach first: the callback may start requests, and must find this one gone. */
		(void)curl_multi_remove_handle(http->multi, req->easy);
		if (req->on_done)
			req->on_done(&res, req->userdata);
		kube_http_req_free(req);
	}
}

static void kube_http_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kube_http *http = container_of(w, struct kube_http, timer);
	int running;

	(void)curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	kube_http_check_done(http);
}

static void kube_http_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct kube_http_sock *sock = container_of(w, struct kube_http_sock, io);
	struct kube_http *http = sock->http;
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		     (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	(void)curl_multi_socket_action(http->multi, sock->fd, action, &running);
	kube_http_check_done(http);
}

static void kube_http_sock_free(struct kube_http *http, struct kube_http_sock *sock)
{
	ev_io_stop(http->loop, &sock->io);
	if (sock->prev)
		sock->prev->next = sock->next;
	else
		http->socks = sock->next;
	if (sock->next)
		sock->next->prev = sock->prev;
	free(sock);
}

static int kube_http_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct kube_http *http = userp;
	struct kube_http_sock *sock = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (sock)
			kube_http_sock_free(http, sock);
		(void)curl_multi_assign(http->multi, fd, NULL);
		return 0;
	}
	if (!sock) {
		sock = calloc(1, sizeof(*sock));
		if (!sock)
			return -1;
		sock->http = http;
		sock->fd = fd;
		sock->next = http->socks;
		if (http->socks)
			http->socks->prev = sock;
		http->socks = sock;
		ev_init(&sock->io, kube_http_on_io);
		(void)curl_multi_assign(http->multi, fd, sock);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_stop(http->loop, &sock->io);
	ev_io_set(&sock->io, fd, events);
	ev_io_start(http->loop, &sock->io);
	return 0;
}

static int kube_http_on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct kube_http *http = userp;

	ev_timer_stop(http->loop, &http->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&http->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(http->loop, &http->timer);
	}
	return 0;
}

static int kube_http_on_sockopt(void *userp, curl_socket_t fd, curlsocktype purpose)
{
	struct kube_http *http = userp;

	if (purpose == CURLSOCKTYPE_IPCXN)
		http->connects++;
	return CURL_SOCKOPT_OK;
}

static size_t kube_http_on_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct kube_http_req *req = userp;
	size_t len = size * nmemb;
	long status = 0;

	/* A watch may never finish: its version counts from its first bytes. */
	kube_http_note_version(req);
	(void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		int r = req->on_data ? req->on_data(data, len, req->userdata) : 0;

		if (r < 0) {
			req->abort_err = r;
			return 0; /* != len: curl ends the transfer with CURLE_WRITE_ERROR */
		}
		return len;
	}
	/* An error reply: keep its start for the log line, drop the rest. */
	if (req->body_len < KUBE_HTTP_BODY_MAX) {
		size_t n = KUBE_HTTP_BODY_MAX - req->body_len;

		if (n > len)
			n = len;
		memcpy(req->body + req->body_len, data, n);
		req->body_len += n;
	}
	return len;
}

struct kube_http *kube_http_new(struct ev_loop *loop, struct kube_config *cfg)
{
	struct kube_http *http = calloc(1, sizeof(*http));

	if (!http)
		return NULL;
	http->loop = loop;
	http->cfg = cfg;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return kube_http_free(http);
	http->global_init = true;
	http->multi = curl_multi_init();
	if (!http->multi)
		return kube_http_free(http);
	ev_init(&http->timer, kube_http_on_timer);
	(void)curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, kube_http_on_socket);
	(void)curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
	(void)curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, kube_http_on_curl_timer);
	(void)curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
	(void)curl_multi_setopt(http->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	return http;
}

struct kube_http *kube_http_free(struct kube_http *http)
{
	if (!http)
		return NULL;
	while (http->reqs)
		kube_http_req_free(http->reqs);
	if (http->multi)
		(void)curl_multi_cleanup(http->multi);
	while (http->socks)
		kube_http_sock_free(http, http->socks);
	if (http->loop)
		ev_timer_stop(http->loop, &http->timer);
	if (http->global_init)
		curl_global_cleanup();
	free(http);
	return NULL;
}

char *kube_http_redact(const struct kube_http *http, char *s)
{
	const char *token = http->cfg->token;
	size_t n = token ? strlen(token) : 0;
	char *p;

	/* Short tokens would redact ordinary words; real tokens are long. */
	if (n < 8)
		return s;
	while ((p = strstr(s, token))) {
		memcpy(p, "REDACTED", 8);
		memmove(p + 8, p + n, strlen(p + n) + 1);
	}
	return s;
}

uint64_t kube_http_connects(const struct kube_http *http)
{
	return http->connects;
}

uint64_t kube_http_requests(const struct kube_http *http)
{
	return http->requests;
}

int kube_http_last_version(const struct kube_http *http)
{
	return http->last_version;
}

/* TLS and client authentication from the configuration. */
static int kube_http_setup_tls(struct kube_http_req *req, const struct kube_config *cfg)
{
	CURL *e = req->easy;
	CURLcode c = CURLE_OK;

	if (cfg->insecure) {
		c |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		c |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (cfg->ca_data.data) {
		struct curl_blob blob = { cfg->ca_data.data, cfg->ca_data.len, CURL_BLOB_COPY };

		c |= curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
		/* Only the cluster's CA: not the system directory as well. */
		c |= curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	} else if (cfg->ca_file) {
		c |= curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
		c |= curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (cfg->cert_data.data) {
		struct curl_blob blob = { cfg->cert_data.data, cfg->cert_data.len, CURL_BLOB_COPY };

		c |= curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
		c |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (cfg->cert_file) {
		c |= curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->cert_file);
	}
	if (cfg->key_data.data) {
		struct curl_blob blob = { cfg->key_data.data, cfg->key_data.len, CURL_BLOB_COPY };

		c |= curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
		c |= curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (cfg->key_file) {
		c |= curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->key_file);
	}
	return c == CURLE_OK ? 0 : -EIO;
}

static int kube_http_setup_headers(struct kube_http_req *req, struct kube_config *cfg)
{
	const char *token = NULL;
	struct curl_slist *l;

	/* A token file that vanished keeps the last token: the server decides whether it is stale. */
	if (kube_config_token(cfg, &token) < 0 && !token)
		token = NULL;
	l = curl_slist_append(NULL, "Accept: application/json");
	if (!l)
		return -ENOMEM;
	req->headers = l;
	if (token && *token) {
		_cleanup_free_ char *h = NULL;
		int n = asprintf(&h, "Authorization: Bearer %s", token);

		if (n < 0) {
			h = NULL;
			return -ENOMEM;
		}
		l = curl_slist_append(req->headers, h);
		explicit_bzero(h, (size_t)n);
		if (!l)
			return -ENOMEM;
		req->headers = l;
	}
	return curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers) == CURLE_OK ? 0 : -EIO;
}

int kube_http_get(struct kube_http *http, const char *path_query,
		  const struct kube_http_get_options *opts, kube_http_data_fn on_data,
		  kube_http_done_fn on_done, void *userdata, struct kube_http_req **ret_req)
{
	struct kube_http_req *req = calloc(1, sizeof(*req));
	_cleanup_free_ char *url = NULL;
	CURLcode c = CURLE_OK;
	CURL *e;
	int r;

	if (!req)
		return -ENOMEM;
	req->http = http;
	req->on_data = on_data;
	req->on_done = on_done;
	req->userdata = userdata;
	req->next = http->reqs;
	if (http->reqs)
		http->reqs->prev = req;
	http->reqs = req;
	if (asprintf(&url, "%s%s", http->cfg->server, path_query) < 0) {
		url = NULL;
		kube_http_req_free(req);
		return -ENOMEM;
	}
	e = req->easy = curl_easy_init();
	if (!e) {
		kube_http_req_free(req);
		return -ENOMEM;
	}
	c |= curl_easy_setopt(e, CURLOPT_URL, url);
	c |= curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	c |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
	c |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, kube_http_on_write);
	c |= curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	c |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	c |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	c |= curl_easy_setopt(e, CURLOPT_USERAGENT, "kipvs/" KIPVS_VERSION);
	c |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	c |= curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	c |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	c |= curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, KUBE_HTTP_KEEPIDLE_S);
	c |= curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, KUBE_HTTP_KEEPINTVL_S);
	c |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, KUBE_HTTP_CONNECT_TIMEOUT_MS);
	c |= curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, kube_http_on_sockopt);
	c |= curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, http);
	if (opts && opts->timeout_ms > 0)
		c |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
	if (opts && opts->compressed)
		c |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (opts && opts->fresh_connect)
		c |= curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	if (c != CURLE_OK) {
		kube_http_req_free(req);
		return -EIO;
	}
	r = kube_http_setup_tls(req, http->cfg);
	if (r == 0)
		r = kube_http_setup_headers(req, http->cfg);
	if (r < 0) {
		kube_http_req_free(req);
		return r;
	}
	if (curl_multi_add_handle(http->multi, e) != CURLM_OK) {
		kube_http_req_free(req);
		return -EIO;
	}
	http->requests++;
	if (ret_req)
		*ret_req = req;
	return 0;
}
