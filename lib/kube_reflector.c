/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The list-then-watch loop for one resource (see kube_reflector.h for the behaviour). It owns
 * at most one request at a time and two timers: the retry timer (backoff, Retry-After, and
 * "start the next step now") and the idle timer of a running watch. Requests are only ever
 * started from a timer or a done callback, never from inside libcurl's write callback.
 */
#include "kube_reflector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <ev.h>

#include "cleanup.h"
#include "kube_backoff.h"
#include "kube_decode.h"
#include "kube_http.h"
#include "kube_model.h"
#include "kube_stream.h"
#include "kube_unproxied.h"
#include "log.h"

#define KUBE_REFLECTOR_COMPONENT "kube"
/* A watch shorter than this that brought no event counts as a failure (no hot loop). */
#define KUBE_REFLECTOR_MIN_WATCH_S 1.0
/* Retry-After beyond this is clamped: a bad header must not stall kipvs for hours. */
#define KUBE_REFLECTOR_RETRY_AFTER_MAX_S 300

enum kube_reflector_step {
	KUBE_REFLECTOR_LIST,
	KUBE_REFLECTOR_WATCH,
};

struct kube_reflector {
	struct ev_loop *loop;
	struct kube_http *http;
	struct kube_cache *cache;
	struct kube_reflector_options opts;
	char *label_selector;
	char *field_selector;
	char *proxy_name;
	const char *path;
	const char *resource; /* "services", ... for logs */

	struct kube_http_req *req;
	enum kube_reflector_step next_step;
	ev_timer retry_timer;
	ev_timer idle_timer;
	struct kube_backoff backoff;
	uint64_t rand_state;
	bool fresh_connect;

	/* LIST state */
	char *continue_token;
	char *list_rv;
	char *body;
	size_t body_len, body_cap;
	size_t list_objects;
	bool overflow;
	bool listing; /* a full list is under way */
	/* Services the proxy filter dropped (reported once each); the list builds the next set. */
	struct kube_unproxied *unproxied, *unproxied_next;

	/* WATCH state */
	struct kube_stream *stream;
	char *rv; /* the last resourceVersion seen; "" before the first list */
	int watch_abort; /* why the watch was aborted from the data callback */
	long watch_error_code; /* code of a watch ERROR event's Status */
	char watch_error_msg[256];
	bool watch_got_data;
	ev_tstamp watch_started;
	bool changed;

	struct kube_reflector_stats stats;
};

static uint32_t kube_reflector_rand(void *userdata)
{
	struct kube_reflector *r = userdata;
	uint64_t x = r->rand_state ? r->rand_state : 0x2545f4914f6cdd1dULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	r->rand_state = x;
	return (uint32_t)(x >> 32);
}

static uint64_t kube_reflector_now_ms(struct kube_reflector *r)
{
	return (uint64_t)(ev_now(r->loop) * 1000.0);
}

static void kube_reflector_notify(struct kube_reflector *r)
{
	if (r->changed && r->opts.on_change)
		r->opts.on_change(r, r->opts.userdata);
	r->changed = false;
}

/* Appends "&key=<escaped value>" to buf. */
static int kube_reflector_param(char **buf, const char *key, const char *value)
{
	char *esc, *n;

	if (!value || !*value)
		return 0;
	esc = curl_easy_escape(NULL, value, 0);
	if (!esc)
		return -ENOMEM;
	if (asprintf(&n, "%s&%s=%s", *buf, key, esc) < 0) {
		curl_free(esc);
		return -ENOMEM;
	}
	curl_free(esc);
	free(*buf);
	*buf = n;
	return 0;
}

static void kube_reflector_schedule(struct kube_reflector *r, enum kube_reflector_step step,
				    double delay_s)
{
	r->next_step = step;
	ev_timer_stop(r->loop, &r->retry_timer);
	ev_timer_set(&r->retry_timer, delay_s, 0.);
	ev_timer_start(r->loop, &r->retry_timer);
}

/*
 * After a failure: wait for Retry-After when the server sent one with 429/503, otherwise for
 * the next backoff delay. Logs the one line about the failure.
 */
static void kube_reflector_retry(struct kube_reflector *r, enum kube_reflector_step step,
				 const struct kube_http_result *res, const char *what,
				 const char *why)
{
	char q_detail[300], q_why[300];
	double delay_s;

	r->stats.failures++;
	if (res && (res->status == 429 || res->status == 503) && res->retry_after_s > 0) {
		long s = res->retry_after_s;

		if (s > KUBE_REFLECTOR_RETRY_AFTER_MAX_S)
			s = KUBE_REFLECTOR_RETRY_AFTER_MAX_S;
		delay_s = (double)s;
		r->stats.retry_after++;
	} else {
		delay_s = kube_backoff_next(&r->backoff, kube_reflector_now_ms(r)) / 1000.0;
	}
	log_warn(KUBE_REFLECTOR_COMPONENT, what, "resource=%s status=%ld err=%s retry_in=%.1fs",
		 r->resource, res ? res->status : 0L, log_quote(q_why, sizeof(q_why), why),
		 delay_s);
	if (res && res->detail && *res->detail)
		log_debug(KUBE_REFLECTOR_COMPONENT, "request failure detail", "resource=%s detail=%s",
			  r->resource, log_quote(q_detail, sizeof(q_detail), res->detail));
	kube_reflector_schedule(r, step, delay_s);
}

/* The text to log for a failed request: the Status message, curl's text, or the errno. */
static const char *kube_reflector_why(struct kube_reflector *r, const struct kube_http_result *res,
				      char *buf, size_t size)
{
	if (res->err) {
		snprintf(buf, size, "%s%s%s", strerror(-res->err), *res->detail ? ": " : "",
			 res->detail);
	} else if (res->body_len > 0) {
		cJSON *st = cJSON_ParseWithLength(res->body, res->body_len);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(st, "message");

		if (cJSON_IsString(m))
			snprintf(buf, size, "HTTP %ld: %s", res->status, m->valuestring);
		else
			snprintf(buf, size, "HTTP %ld", res->status);
		cJSON_Delete(st);
	} else {
		snprintf(buf, size, "HTTP %ld", res->status);
	}
	if (res->status == 401)
		snprintf(buf + strlen(buf), size - strlen(buf),
			 " (unauthorized: check the token or client certificate)");
	else if (res->status == 403)
		snprintf(buf + strlen(buf), size - strlen(buf),
			 " (forbidden: the identity needs list and watch on this resource)");
	else if (res->err == -EKEYREJECTED)
		snprintf(buf + strlen(buf), size - strlen(buf),
			 " (the server certificate is not trusted: check the CA)");
	return kube_http_redact(r->http, buf);
}

/* --- applying objects --------------------------------------------------------------------- */

static const char *kube_reflector_meta_str(const cJSON *obj, const char *key)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int kube_reflector_delete(struct kube_reflector *r, const cJSON *obj)
{
	const char *name = kube_reflector_meta_str(obj, "name");
	const char *ns = kube_reflector_meta_str(obj, "namespace");
	int n = 0;

	if (!name)
		return 0;
	if (!ns || !*ns)
		ns = "default";
	switch (r->opts.kind) {
	case KUBE_KIND_SERVICE:
		n = kube_cache_delete_service(r->cache, ns, name);
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		n = kube_cache_delete_slice(r->cache, ns, name);
		break;
	case KUBE_KIND_NODE:
		n = kube_cache_delete_node(r->cache, name);
		break;
	case _KUBE_KIND_MAX:
		break;
	}
	if (n > 0)
		r->changed = true;
	return 0;
}

/*
 * Decodes obj and puts it into the cache. An object the decoder rejects (it logged why), or a
 * Service another proxy owns, is removed from the cache instead: its previous state is no
 * longer what the server holds. Returns 0 or -ENOMEM.
 */
static int kube_reflector_put(struct kube_reflector *r, const cJSON *obj)
{
	int ret = 0;

	switch (r->opts.kind) {
	case KUBE_KIND_SERVICE: {
		struct kube_service *svc = NULL;

		ret = kube_decode_service(obj, &svc);
		if (ret == 0) {
			/* Logs a dropped Service unless the last list or event already did. */
			int proxied = kube_unproxied_filter(
				r->unproxied, r->listing ? &r->unproxied_next : &r->unproxied, svc,
				r->proxy_name);

			if (proxied <= 0) {
				svc = kube_service_free(svc);
				ret = proxied < 0 ? proxied : -EINVAL;
			}
		}
		if (ret == 0)
			ret = kube_cache_put_service(r->cache, svc);
		break;
	}
	case KUBE_KIND_ENDPOINT_SLICE: {
		struct kube_endpoint_slice *slice = NULL;

		ret = kube_decode_endpoint_slice(obj, &slice);
		if (ret == 0)
			ret = kube_cache_put_slice(r->cache, slice);
		break;
	}
	case KUBE_KIND_NODE: {
		struct kube_node *node = NULL;

		ret = kube_decode_node(obj, &node);
		if (ret == 0)
			ret = kube_cache_put_node(r->cache, node);
		break;
	}
	case _KUBE_KIND_MAX:
		break;
	}
	if (ret == -ENOMEM)
		return ret;
	if (ret > 0)
		r->changed = true;
	if (ret == -EINVAL || ret == -EOPNOTSUPP)
		return kube_reflector_delete(r, obj);
	return 0;
}

static int kube_reflector_set_rv(struct kube_reflector *r, const char *rv)
{
	char *s;

	if (!rv || !*rv)
		return 0;
	s = strdup(rv);
	if (!s)
		return -ENOMEM;
	free(r->rv);
	r->rv = s;
	return 0;
}

/* --- LIST --------------------------------------------------------------------------------- */

static void kube_reflector_start_list(struct kube_reflector *r);
static void kube_reflector_start_watch(struct kube_reflector *r);

static size_t kube_reflector_list_max(const struct kube_reflector *r)
{
	return r->opts.max_event_bytes * 4;
}

static int kube_reflector_on_list_data(const char *data, size_t len, void *userdata)
{
	struct kube_reflector *r = userdata;

	if (r->body_len + len > kube_reflector_list_max(r)) {
		r->overflow = true;
		return -EMSGSIZE;
	}
	if (r->body_len + len + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 65536;
		char *p;

		while (cap < r->body_len + len + 1)
			cap *= 2;
		p = realloc(r->body, cap);
		if (!p)
			return -ENOMEM;
		r->body = p;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	return 0;
}

static void kube_reflector_body_clear(struct kube_reflector *r)
{
	r->body_len = 0;
	/* Keep a modest buffer for the next page; give back a huge one. */
	if (r->body_cap > (8u << 20)) {
		free(r->body);
		r->body = NULL;
		r->body_cap = 0;
	}
}

static void cJSON_Deletep(cJSON **p)
{
	cJSON_Delete(*p);
}

/*
 * Applies one list page. Returns 0 with *ret_continue set to the next page's token (NULL when
 * this was the last page), -EBADMSG for a reply that is not a list, or -ENOMEM.
 */
static int kube_reflector_apply_page(struct kube_reflector *r, char **ret_continue)
{
	_cleanup_(cJSON_Deletep) cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *items, *item, *meta, *v;
	char *cont = NULL;

	items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	if (!cJSON_IsObject(doc) || !(cJSON_IsArray(items) || cJSON_IsNull(items) || !items))
		return -EBADMSG;
	v = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
	if (cJSON_IsString(v) && *v->valuestring) {
		char *s = strdup(v->valuestring);

		if (!s)
			return -ENOMEM;
		free(r->list_rv);
		r->list_rv = s;
	}
	cJSON_ArrayForEach(item, items)
	{
		int ret = kube_reflector_put(r, item);

		if (ret < 0)
			return ret;
		r->list_objects++;
	}
	v = cJSON_GetObjectItemCaseSensitive(meta, "continue");
	if (cJSON_IsString(v) && *v->valuestring) {
		cont = strdup(v->valuestring);
		if (!cont)
			return -ENOMEM;
	}
	*ret_continue = cont;
	return 0;
}

static void kube_reflector_on_list_done(const struct kube_http_result *res, void *userdata)
{
	struct kube_reflector *r = userdata;
	char why[512];
	char *cont = NULL;
	int ret;

	r->req = NULL;
	if (res->err || res->status != 200) {
		kube_reflector_body_clear(r);
		free(r->continue_token);
		r->continue_token = NULL;
		if (res->err == 0 && res->status == 410) {
			/* The continue token expired: list again from the start, now. */
			r->stats.relists_gone++;
			log_info(KUBE_REFLECTOR_COMPONENT, "list continue token expired, relisting",
				 "resource=%s status=410", r->resource);
			kube_reflector_schedule(r, KUBE_REFLECTOR_LIST, 0.);
			return;
		}
		if (r->overflow)
			snprintf(why, sizeof(why), "list page larger than %zu bytes",
				 kube_reflector_list_max(r));
		else
			kube_reflector_why(r, res, why, sizeof(why));
		r->fresh_connect = res->err != 0;
		kube_reflector_retry(r, KUBE_REFLECTOR_LIST, res, "list failed", why);
		return;
	}
	r->stats.pages++;
	ret = kube_reflector_apply_page(r, &cont);
	kube_reflector_body_clear(r);
	free(r->continue_token);
	r->continue_token = NULL;
	if (ret < 0) {
		kube_reflector_retry(r, KUBE_REFLECTOR_LIST, res, "list failed",
				     ret == -EBADMSG ? "the reply is not a JSON list" :
						       strerror(-ret));
		return;
	}
	if (cont) {
		r->continue_token = cont;
		kube_reflector_start_list(r);
		return;
	}
	{
		bool was_synced = kube_cache_is_synced(r->cache, r->opts.kind);

		kube_cache_replace_end(r->cache, r->opts.kind);
		r->changed = true;
		kube_unproxied_free(r->unproxied);
		r->unproxied = TAKE_PTR(r->unproxied_next);
		r->listing = false;
		if (kube_reflector_set_rv(r, r->list_rv) < 0) {
			kube_reflector_retry(r, KUBE_REFLECTOR_LIST, NULL, "list failed",
					     strerror(ENOMEM));
			return;
		}
		log_info(KUBE_REFLECTOR_COMPONENT, "list complete",
			 "resource=%s objects=%zu resource_version=%s%s", r->resource,
			 r->list_objects, r->rv ? r->rv : "",
			 was_synced ? "" : " from=unsynced to=synced");
	}
	kube_backoff_reset(&r->backoff);
	kube_reflector_notify(r);
	kube_reflector_start_watch(r);
}

static const char *kube_reflector_kind_path(enum kube_kind kind)
{
	switch (kind) {
	case KUBE_KIND_SERVICE:
		return "/api/v1/services";
	case KUBE_KIND_ENDPOINT_SLICE:
		return "/apis/discovery.k8s.io/v1/endpointslices";
	case KUBE_KIND_NODE:
		return "/api/v1/nodes";
	case _KUBE_KIND_MAX:
		break;
	}
	return "/";
}

static void kube_reflector_start_list(struct kube_reflector *r)
{
	_cleanup_free_ char *url = NULL;
	struct kube_http_get_options o = {
		.timeout_ms = r->opts.list_timeout_ms,
		.compressed = true,
		.fresh_connect = r->fresh_connect,
	};
	int ret;

	if (!r->continue_token) {
		/* A new full list: what it does not mention is deleted at its end. */
		r->stats.lists++;
		r->list_objects = 0;
		free(r->list_rv);
		r->list_rv = NULL;
		r->unproxied_next = kube_unproxied_free(r->unproxied_next);
		r->listing = true;
		kube_cache_replace_begin(r->cache, r->opts.kind);
	}
	r->overflow = false;
	kube_reflector_body_clear(r);
	if (asprintf(&url, "%s?limit=%u", r->path, r->opts.page_limit) < 0) {
		url = NULL;
		ret = -ENOMEM;
	} else {
		ret = kube_reflector_param(&url, "labelSelector", r->label_selector);
		if (ret == 0)
			ret = kube_reflector_param(&url, "fieldSelector", r->field_selector);
		if (ret == 0)
			ret = kube_reflector_param(&url, "continue", r->continue_token);
		if (ret == 0)
			ret = kube_http_get(r->http, url, &o, kube_reflector_on_list_data,
					    kube_reflector_on_list_done, r, &r->req);
	}
	r->fresh_connect = false;
	if (ret < 0) {
		free(r->continue_token);
		r->continue_token = NULL;
		kube_reflector_retry(r, KUBE_REFLECTOR_LIST, NULL, "list failed", strerror(-ret));
		return;
	}
	log_debug(KUBE_REFLECTOR_COMPONENT, "list", "resource=%s continue=%s", r->resource,
		  r->continue_token ? "yes" : "no");
}

/* --- WATCH -------------------------------------------------------------------------------- */

static int kube_reflector_on_event(const char *line, size_t len, void *userdata)
{
	struct kube_reflector *r = userdata;
	_cleanup_(cJSON_Deletep) cJSON *ev = cJSON_ParseWithLength(line, len);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	const char *t;
	int ret;

	if (!cJSON_IsString(type) || !cJSON_IsObject(obj))
		return -EBADMSG;
	t = type->valuestring;
	r->stats.events++;
	if (strcmp(t, "ERROR") == 0) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "message");

		r->watch_error_code = cJSON_IsNumber(code) ? (long)code->valuedouble : 0;
		snprintf(r->watch_error_msg, sizeof(r->watch_error_msg), "%s",
			 cJSON_IsString(msg) ? msg->valuestring : "");
		return r->watch_error_code == 410 ? -ESTALE : -EPROTO;
	}
	if (strcmp(t, "BOOKMARK") == 0) {
		r->stats.bookmarks++;
	} else if (strcmp(t, "ADDED") == 0 || strcmp(t, "MODIFIED") == 0) {
		ret = kube_reflector_put(r, obj);
		if (ret < 0)
			return ret;
	} else if (strcmp(t, "DELETED") == 0) {
		const char *ns = kube_reflector_meta_str(obj, "namespace");
		const char *name = kube_reflector_meta_str(obj, "name");

		if (r->opts.kind == KUBE_KIND_SERVICE && name)
			kube_unproxied_forget(&r->unproxied, ns && *ns ? ns : "default", name);
		ret = kube_reflector_delete(r, obj);
		if (ret < 0)
			return ret;
	} else {
		return -EBADMSG;
	}
	/* The event is applied: resume from here if the watch ends. */
	return kube_reflector_set_rv(r, kube_reflector_meta_str(obj, "resourceVersion"));
}

static int kube_reflector_on_watch_data(const char *data, size_t len, void *userdata)
{
	struct kube_reflector *r = userdata;
	int ret;

	r->watch_got_data = true;
	ev_timer_again(r->loop, &r->idle_timer);
	ret = kube_stream_feed(r->stream, data, len, kube_reflector_on_event, r);
	kube_reflector_notify(r);
	if (ret < 0)
		r->watch_abort = ret;
	return ret;
}

static void kube_reflector_on_watch_done(const struct kube_http_result *res, void *userdata)
{
	struct kube_reflector *r = userdata;
	bool short_lived = ev_now(r->loop) - r->watch_started < KUBE_REFLECTOR_MIN_WATCH_S;
	char why[512];

	r->req = NULL;
	ev_timer_stop(r->loop, &r->idle_timer);
	kube_stream_reset(r->stream);
	if (r->watch_abort == -ESTALE || (res->err == 0 && res->status == 410)) {
		r->stats.relists_gone++;
		log_info(KUBE_REFLECTOR_COMPONENT, "watch resourceVersion too old, relisting",
			 "resource=%s resource_version=%s status=410", r->resource,
			 r->rv ? r->rv : "");
		kube_reflector_schedule(r, KUBE_REFLECTOR_LIST, 0.);
		return;
	}
	if (r->watch_abort) {
		switch (r->watch_abort) {
		case -EPROTO:
			snprintf(why, sizeof(why), "watch ERROR event code=%ld: %s",
				 r->watch_error_code, r->watch_error_msg);
			kube_http_redact(r->http, why);
			break;
		case -EBADMSG:
			snprintf(why, sizeof(why), "malformed watch event");
			break;
		case -EMSGSIZE:
			snprintf(why, sizeof(why), "watch event larger than %zu bytes",
				 r->opts.max_event_bytes);
			break;
		default:
			snprintf(why, sizeof(why), "%s", strerror(-r->watch_abort));
			break;
		}
		kube_reflector_retry(r, KUBE_REFLECTOR_WATCH, NULL, "watch aborted", why);
		return;
	}
	if (res->err == 0 && res->status == 200 && (r->watch_got_data || !short_lived)) {
		/* The server's timeout, or a clean close: resume at once. */
		log_debug(KUBE_REFLECTOR_COMPONENT, "watch ended", "resource=%s resource_version=%s",
			  r->resource, r->rv ? r->rv : "");
		kube_reflector_schedule(r, KUBE_REFLECTOR_WATCH, 0.);
		return;
	}
	if (res->err == 0 && res->status == 200)
		snprintf(why, sizeof(why), "watch closed at once without an event");
	else
		kube_reflector_why(r, res, why, sizeof(why));
	r->fresh_connect = res->err != 0;
	kube_reflector_retry(r, KUBE_REFLECTOR_WATCH, res, "watch failed", why);
}

static void kube_reflector_on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kube_reflector *r = container_of(w, struct kube_reflector, idle_timer);

	ev_timer_stop(loop, w);
	r->req = kube_http_req_cancel(r->req);
	kube_stream_reset(r->stream);
	r->stats.idle_restarts++;
	/* The connection may be half-open: the next watch opens a new one. */
	r->fresh_connect = true;
	log_warn(KUBE_REFLECTOR_COMPONENT, "watch idle, restarting",
		 "resource=%s idle_limit=%ums resource_version=%s", r->resource,
		 r->opts.idle_limit_ms, r->rv ? r->rv : "");
	kube_reflector_schedule(r, KUBE_REFLECTOR_WATCH, 0.);
}

static void kube_reflector_start_watch(struct kube_reflector *r)
{
	_cleanup_free_ char *url = NULL;
	struct kube_http_get_options o = { .fresh_connect = r->fresh_connect };
	unsigned timeout_s = r->opts.watch_timeout_s;
	int ret;

	if (timeout_s == 0)
		timeout_s = 300 + kube_reflector_rand(r) % 300;
	r->watch_abort = 0;
	r->watch_error_code = 0;
	r->watch_got_data = false;
	r->watch_started = ev_now(r->loop);
	kube_stream_reset(r->stream);
	if (asprintf(&url, "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%u", r->path,
		     timeout_s) < 0) {
		url = NULL;
		ret = -ENOMEM;
	} else {
		ret = kube_reflector_param(&url, "resourceVersion", r->rv);
		if (ret == 0)
			ret = kube_reflector_param(&url, "labelSelector", r->label_selector);
		if (ret == 0)
			ret = kube_reflector_param(&url, "fieldSelector", r->field_selector);
		if (ret == 0)
			ret = kube_http_get(r->http, url, &o, kube_reflector_on_watch_data,
					    kube_reflector_on_watch_done, r, &r->req);
	}
	r->fresh_connect = false;
	if (ret < 0) {
		kube_reflector_retry(r, KUBE_REFLECTOR_WATCH, NULL, "watch failed",
				     strerror(-ret));
		return;
	}
	r->stats.watches++;
	ev_timer_set(&r->idle_timer, 0., r->opts.idle_limit_ms / 1000.0);
	ev_timer_again(r->loop, &r->idle_timer);
	log_debug(KUBE_REFLECTOR_COMPONENT, "watch", "resource=%s resource_version=%s",
		  r->resource, r->rv ? r->rv : "");
}

static void kube_reflector_on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kube_reflector *r = container_of(w, struct kube_reflector, retry_timer);

	ev_timer_stop(loop, w);
	if (r->req)
		return;
	if (r->next_step == KUBE_REFLECTOR_WATCH && r->rv)
		kube_reflector_start_watch(r);
	else
		kube_reflector_start_list(r);
}

/* --- lifecycle ---------------------------------------------------------------------------- */

static const char *kube_reflector_resource_name(enum kube_kind kind)
{
	switch (kind) {
	case KUBE_KIND_SERVICE:
		return "services";
	case KUBE_KIND_ENDPOINT_SLICE:
		return "endpointslices";
	case KUBE_KIND_NODE:
		return "nodes";
	case _KUBE_KIND_MAX:
		break;
	}
	return "?";
}

static int kube_reflector_dup(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

struct kube_reflector *kube_reflector_new(struct ev_loop *loop, struct kube_http *http,
					  struct kube_cache *cache,
					  const struct kube_reflector_options *opts)
{
	struct kube_reflector *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->loop = loop;
	r->http = http;
	r->cache = cache;
	r->opts = *opts;
	if (r->opts.page_limit == 0)
		r->opts.page_limit = KUBE_REFLECTOR_PAGE_LIMIT;
	if (r->opts.idle_limit_ms == 0)
		r->opts.idle_limit_ms = KUBE_REFLECTOR_IDLE_LIMIT_MS;
	if (r->opts.list_timeout_ms == 0)
		r->opts.list_timeout_ms = KUBE_REFLECTOR_LIST_TIMEOUT_MS;
	if (r->opts.max_event_bytes == 0)
		r->opts.max_event_bytes = KUBE_STREAM_MAX_LINE_DEFAULT;
	r->path = kube_reflector_kind_path(opts->kind);
	r->resource = kube_reflector_resource_name(opts->kind);
	ev_init(&r->retry_timer, kube_reflector_on_retry);
	ev_init(&r->idle_timer, kube_reflector_on_idle);
	if (getrandom(&r->rand_state, sizeof(r->rand_state), GRND_NONBLOCK) !=
	    sizeof(r->rand_state))
		r->rand_state = (uint64_t)(ev_time() * 1e6) ^ (uint64_t)(uintptr_t)r;
	kube_backoff_init(&r->backoff, opts->backoff_base_ms, opts->backoff_cap_ms, 0,
			  kube_reflector_rand, r, 0);
	r->stream = kube_stream_new(r->opts.max_event_bytes);
	if (!r->stream || kube_reflector_dup(opts->label_selector, &r->label_selector) < 0 ||
	    kube_reflector_dup(opts->field_selector, &r->field_selector) < 0 ||
	    kube_reflector_dup(opts->proxy_name, &r->proxy_name) < 0)
		return kube_reflector_free(r);
	r->opts.label_selector = r->label_selector;
	r->opts.field_selector = r->field_selector;
	r->opts.proxy_name = r->proxy_name;
	return r;
}

struct kube_reflector *kube_reflector_free(struct kube_reflector *r)
{
	if (!r)
		return NULL;
	r->req = kube_http_req_cancel(r->req);
	ev_timer_stop(r->loop, &r->retry_timer);
	ev_timer_stop(r->loop, &r->idle_timer);
	kube_stream_free(r->stream);
	free(r->label_selector);
	free(r->field_selector);
	free(r->proxy_name);
	free(r->continue_token);
	free(r->list_rv);
	free(r->body);
	free(r->rv);
	kube_unproxied_free(r->unproxied);
	kube_unproxied_free(r->unproxied_next);
	free(r);
	return NULL;
}

int kube_reflector_start(struct kube_reflector *r)
{
	if (r->req || ev_is_active(&r->retry_timer))
		return 0;
	kube_reflector_start_list(r);
	return 0;
}

bool kube_reflector_is_synced(const struct kube_reflector *r)
{
	return kube_cache_is_synced(r->cache, r->opts.kind);
}

const char *kube_reflector_resource(const struct kube_reflector *r)
{
	return r->path;
}

const char *kube_reflector_resource_version(const struct kube_reflector *r)
{
	return r->rv ? r->rv : "";
}

void kube_reflector_get_stats(const struct kube_reflector *r, struct kube_reflector_stats *ret)
{
	*ret = r->stats;
}
