/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP to the API server on the libev loop: libcurl's multi interface driven by ev_io and
 * ev_timer watchers, no thread and no blocking call. Requests prefer HTTP/2 and wait for an
 * existing connection to multiplex on (CURLOPT_PIPEWAIT), so every watch shares one connection
 * when the server offers h2; HTTP/1.1 (chunked) works too, one connection per request. TCP
 * keepalive is on. Authentication and TLS come from a struct kube_config.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct kube_config;
struct kube_http;
struct kube_http_req;

/* How a request ended. */
struct kube_http_result {
	/*
	 * 0 when a complete HTTP response arrived (whatever its status); otherwise -errno: the
	 * value the data callback returned to abort, -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET,
	 * -EKEYREJECTED (the server's certificate failed verification), -ENOKEY (our client
	 * certificate or key could not be used), -EHOSTUNREACH, -ENOMEM, -EIO.
	 */
	int err;
	long status; /* HTTP status, 0 when no response header arrived */
	long retry_after_s; /* Retry-After in seconds, 0 when absent */
	const char *detail; /* curl's error text ("" when none), for logs */
	/* The start of a non-2xx response body (a Status object, usually), NUL-terminated. */
	const char *body;
	size_t body_len;
};

/*
 * Receives the body of a 2xx response as it arrives. A negative return aborts the request,
 * whose result then carries that value in err. Must not call kube_http_get() or
 * kube_http_req_cancel() (it runs inside libcurl).
 */
typedef int (*kube_http_data_fn)(const char *data, size_t len, void *userdata);
/* Called once when the request ends, unless it was cancelled. May start new requests. */
typedef void (*kube_http_done_fn)(const struct kube_http_result *result, void *userdata);

struct kube_http_get_options {
	long timeout_ms; /* whole request; 0: none (watches) */
	bool compressed; /* accept gzip (large LIST replies) */
	bool fresh_connect; /* open a new connection (the last one may be half-open) */
};

/*
 * A client for cfg->server on `loop`. Borrows cfg, which must outlive the client (the token
 * file is re-read through it). Returns NULL on ENOMEM or when libcurl cannot be initialised.
 */
struct kube_http *kube_http_new(struct ev_loop *loop, struct kube_config *cfg);
/* Cancels every request (no done callbacks) and frees the client. Accepts NULL. */
struct kube_http *kube_http_free(struct kube_http *http);

/*
 * Starts GET cfg->server + path_query (which begins with '/'). On success *ret_req (may be
 * NULL) identifies the request until its done callback returns or it is cancelled; the
 * client owns it. Returns 0, -ENOMEM, or -EIO when libcurl refuses the request.
 */
int kube_http_get(struct kube_http *http, const char *path_query,
		  const struct kube_http_get_options *opts, kube_http_data_fn on_data,
		  kube_http_done_fn on_done, void *userdata, struct kube_http_req **ret_req)
	__attribute__((warn_unused_result));

/* Stops and frees a request without calling its done callback. Accepts NULL; returns NULL. */
struct kube_http_req *kube_http_req_cancel(struct kube_http_req *req);

/*
 * Replaces every occurrence of the current bearer token in s with "REDACTED", in place, so
 * that server text can be logged safely. Returns s.
 */
char *kube_http_redact(const struct kube_http *http, char *s);

/* New TCP connections opened so far (to show that HTTP/2 watches share one). */
uint64_t kube_http_connects(const struct kube_http *http);
/* Requests started so far. */
uint64_t kube_http_requests(const struct kube_http *http);
/* The HTTP version of the last response (finished, or under way): 1 (HTTP/1.x), 2, or 0. */
int kube_http_last_version(const struct kube_http *http);
