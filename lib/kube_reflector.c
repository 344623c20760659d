/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sync-then-watch loop for one resource (see kube_reflector.h for the behaviour): the
 * watch, the streaming list (a watch whose initial events fill a staging cache until their end
 * bookmark), timers and lifecycle; the LIST is in kube_reflector_list.c. It owns at most one
 * request at a time and three timers: the retry timer (backoff, Retry-After, and "start the
 * next step now"), the idle timer of a running watch, and the streaming list's wait for its
 * initial events. Requests are only ever started from a timer or a done callback, never from
 * inside libcurl's write callback.
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
#include "kube_decode.h"
#include "kube_http.h"
#include "kube_model.h"
#include "kube_reflector_internal.h"
#include "kube_stream.h"
#include "kube_unproxied.h"
#include "log.h"
#include "sync_phase.h"

/* A watch shorter than this that brought no event counts as a failure (no hot loop). */
#define KUBE_REFLECTOR_MIN_WATCH_S 1.0
/* Retry-After beyond this is clamped: a bad header must not stall kipvs for hours. */
#define KUBE_REFLECTOR_RETRY_AFTER_MAX_S 300
/* The bookmark annotation that ends a streaming list's initial events (KEP-3157). */
#define KUBE_REFLECTOR_INITIAL_EVENTS_END "k8s.io/initial-events-end"

static void cJSON_Deletep(cJSON **p)
{
	cJSON_Delete(*p);
}

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

int kube_reflector_param(char **buf, const char *key, const char *value)
{
	char *esc, *n;

	if (!value || !*value)
		return 0;
	esc = curl_easy_escape(NULL, value, 0);
	if (!esc)
		return -ENOMEM;
	if (asprintf(&n, "%s%c%s=%s", *buf, strchr(*buf, '?') ? '&' : '?', key, esc) < 0) {
		curl_free(esc);
		return -ENOMEM;
	}
	curl_free(esc);
	free(*buf);
	*buf = n;
	return 0;
}

void kube_reflector_schedule(struct kube_reflector *r, enum kube_reflector_step step,
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
void kube_reflector_retry(struct kube_reflector *r, enum kube_reflector_step step,
			  const struct kube_http_result *res, const char *what, const char *why)
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
const char *kube_reflector_why(struct kube_reflector *r, const struct kube_http_result *res,
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

/*
 * 410 (Expired, or Gone from servers before 1.18), or a 504 whose Status names the cause
 * ResourceVersionTooLarge (the server has not caught up with the resourceVersion asked for):
 * as client-go's isExpiredError and isTooLargeResourceVersionError.
 */
bool kube_reflector_rv_unusable(const struct kube_http_result *res)
{
	_cleanup_(cJSON_Deletep) cJSON *st = NULL;
	const cJSON *causes, *c;

	if (res->status == 410)
		return true;
	if (res->status != 504 || res->body_len == 0)
		return false;
	st = cJSON_ParseWithLength(res->body, res->body_len);
	causes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, "details"),
						  "causes");
	cJSON_ArrayForEach(c, causes)
	{
		const cJSON *reason = cJSON_GetObjectItemCaseSensitive(c, "reason");

		if (cJSON_IsString(reason) &&
		    strcmp(reason->valuestring, "ResourceVersionTooLarge") == 0)
			return true;
	}
	return false;
}

/* --- applying objects --------------------------------------------------------------------- */

static const char *kube_reflector_meta_str(const cJSON *obj, const char *key)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The store events and pages go to: a streaming list's staging cache, or the cache. */
static struct kube_cache *kube_reflector_store(struct kube_reflector *r)
{
	return r->initial ? r->initial : r->cache;
}

/* A change to the store is a change to report only when the store is the cache. */
static void kube_reflector_changed(struct kube_reflector *r)
{
	if (!r->initial)
		r->changed = true;
}

static int kube_reflector_delete(struct kube_reflector *r, const cJSON *obj)
{
	struct kube_cache *store = kube_reflector_store(r);
	const char *name = kube_reflector_meta_str(obj, "name");
	const char *ns = kube_reflector_meta_str(obj, "namespace");
	int n = 0;

	if (!name)
		return 0;
	if (!ns || !*ns)
		ns = "default";
	switch (r->opts.kind) {
	case KUBE_KIND_SERVICE:
		n = kube_cache_delete_service(store, ns, name);
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		n = kube_cache_delete_slice(store, ns, name);
		break;
	case KUBE_KIND_NODE:
		n = kube_cache_delete_node(store, name);
		break;
	case _KUBE_KIND_MAX:
		break;
	}
	if (n > 0)
		kube_reflector_changed(r);
	return 0;
}

/*
 * Decodes obj and puts it into the store being filled. An object the decoder rejects (it logged
 * why), or a Service another proxy owns, is removed from it instead: its previous state is no
 * longer what the server holds. Returns 0 or -ENOMEM.
 */
int kube_reflector_put(struct kube_reflector *r, const cJSON *obj)
{
	struct kube_cache *store = kube_reflector_store(r);
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
			ret = kube_cache_put_service(store, svc);
		break;
	}
	case KUBE_KIND_ENDPOINT_SLICE: {
		struct kube_endpoint_slice *slice = NULL;

		ret = kube_decode_endpoint_slice(obj, &slice);
		if (ret == 0)
			ret = kube_cache_put_slice(store, slice);
		break;
	}
	case KUBE_KIND_NODE: {
		struct kube_node *node = NULL;

		ret = kube_decode_node(obj, &node);
		if (ret == 0)
			ret = kube_cache_put_node(store, node);
		break;
	}
	case _KUBE_KIND_MAX:
		break;
	}
	if (ret == -ENOMEM)
		return ret;
	if (ret > 0)
		kube_reflector_changed(r);
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

/* --- full syncs --------------------------------------------------------------------------- */

static void kube_reflector_start_watch(struct kube_reflector *r);

void kube_reflector_sync_begin(struct kube_reflector *r)
{
	r->stats.lists++;
	r->unproxied_next = kube_unproxied_free(r->unproxied_next);
	r->listing = true;
}

int kube_reflector_sync_end(struct kube_reflector *r, const char *rv, size_t objects,
			    bool start_watch)
{
	bool was_synced = r->synced_once;

	r->synced_once = true;
	r->changed = true;
	kube_unproxied_free(r->unproxied);
	r->unproxied = TAKE_PTR(r->unproxied_next);
	r->listing = false;
	r->rv_unavailable = false;
	if (kube_reflector_set_rv(r, rv) < 0)
		return -ENOMEM;
	log_info(KUBE_REFLECTOR_COMPONENT, "list complete",
		 "resource=%s objects=%zu resource_version=%s via=%s%s", r->resource, objects,
		 r->rv ? r->rv : "", start_watch ? "list" : "watch-list",
		 was_synced ? "" : " from=unsynced to=synced");
	kube_backoff_reset(&r->backoff);
	kube_reflector_notify(r);
	if (start_watch)
		kube_reflector_start_watch(r);
	return 0;
}

/* Drops a streaming list's staging cache and its wait (it ended, or is given up). */
static void kube_reflector_initial_clear(struct kube_reflector *r)
{
	ev_timer_stop(r->loop, &r->initial_timer);
	r->initial = kube_cache_free(r->initial);
}

static size_t kube_reflector_count(const struct kube_cache *cache, enum kube_kind kind)
{
	switch (kind) {
	case KUBE_KIND_SERVICE:
		return kube_cache_count_services(cache);
	case KUBE_KIND_ENDPOINT_SLICE:
		return kube_cache_count_slices(cache);
	case KUBE_KIND_NODE:
		return kube_cache_get_node(cache) ? 1 : 0;
	case _KUBE_KIND_MAX:
		break;
	}
	return 0;
}

/*
 * The bookmark that ends a streaming list's initial events: the staging cache replaces the
 * kind in the cache in one step, and the same watch goes on from the bookmark's RV.
 */
static int kube_reflector_initial_end(struct kube_reflector *r, const char *rv)
{
	size_t objects = kube_reflector_count(r->initial, r->opts.kind);
	int ret = kube_cache_replace_from(r->cache, r->initial, r->opts.kind);

	kube_reflector_initial_clear(r);
	if (ret == 0)
		ret = kube_reflector_sync_end(r, rv, objects, false);
	return ret;
}

/*
 * The server will not stream lists (it refused the parameters, or ignored them): LIST now,
 * and from now on.
 */
static void kube_reflector_watch_list_give_up(struct kube_reflector *r, const char *why)
{
	char q[200];

	kube_reflector_initial_clear(r);
	r->watch_list = false;
	r->stats.watch_list_fallbacks++;
	log_warn(KUBE_REFLECTOR_COMPONENT, "streaming list not supported, listing instead",
		 "resource=%s reason=%s", r->resource, log_quote(q, sizeof(q), why));
	kube_reflector_schedule(r, KUBE_REFLECTOR_SYNC, 0.);
}

static void kube_reflector_on_initial_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kube_reflector *r = container_of(w, struct kube_reflector, initial_timer);
	char why[120];

	ev_timer_stop(loop, &r->idle_timer);
	r->req = kube_http_req_cancel(r->req);
	kube_stream_reset(r->stream);
	snprintf(why, sizeof(why), "no initial event and no end bookmark for %ums",
		 r->opts.initial_events_wait_ms);
	kube_reflector_watch_list_give_up(r, why);
}

/*
 * A streaming list (client-go's watchList): a watch with sendInitialEvents=true whose initial
 * ADDED events go to a staging cache until the bookmark annotated k8s.io/initial-events-end.
 * It starts from the last resourceVersion synced, or unset (the latest, consistent) at first
 * and after that one was unavailable.
 */
static void kube_reflector_start_watch_list(struct kube_reflector *r)
{
	kube_reflector_initial_clear(r);
	r->initial = kube_cache_new_staging(r->cache);
	if (!r->initial) {
		kube_reflector_retry(r, KUBE_REFLECTOR_SYNC, NULL, "watch list failed",
				     strerror(ENOMEM));
		return;
	}
	kube_reflector_sync_begin(r);
	r->stats.watch_lists++;
	kube_reflector_start_watch(r);
	if (!r->req)
		return;
	ev_timer_set(&r->initial_timer, 0., r->opts.initial_events_wait_ms / 1000.0);
	ev_timer_again(r->loop, &r->initial_timer);
}

static void kube_reflector_start_sync(struct kube_reflector *r)
{
	if (r->watch_list)
		kube_reflector_start_watch_list(r);
	else
		kube_reflector_list_start(r);
}

/* --- WATCH -------------------------------------------------------------------------------- */

static bool kube_reflector_is_initial_end(const cJSON *obj)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ann, KUBE_REFLECTOR_INITIAL_EVENTS_END);

	return cJSON_IsString(v) && strcmp(v->valuestring, "true") == 0;
}

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
		if (r->initial && kube_reflector_is_initial_end(obj))
			return kube_reflector_initial_end(
				r, kube_reflector_meta_str(obj, "resourceVersion"));
	} else if (strcmp(t, "ADDED") == 0 || strcmp(t, "MODIFIED") == 0) {
		ret = kube_reflector_put(r, obj);
		if (ret < 0)
			return ret;
		/* Initial events still coming: the server does stream the list. */
		if (r->initial)
			ev_timer_again(r->loop, &r->initial_timer);
	} else if (strcmp(t, "DELETED") == 0) {
		const char *ns = kube_reflector_meta_str(obj, "namespace");
		const char *name = kube_reflector_meta_str(obj, "name");

		if (r->opts.kind == KUBE_KIND_SERVICE && name)
			kube_unproxied_forget(r->listing ? &r->unproxied_next : &r->unproxied,
					      ns && *ns ? ns : "default", name);
		ret = kube_reflector_delete(r, obj);
		if (ret < 0)
			return ret;
	} else {
		return -EBADMSG;
	}
	/* Before its end bookmark, a streaming list has synced to no resourceVersion yet. */
	if (r->initial)
		return 0;
	/* The event is applied: resume from here if the watch ends. */
	return kube_reflector_set_rv(r, kube_reflector_meta_str(obj, "resourceVersion"));
}

static int kube_reflector_on_watch_data(const char *data, size_t len, void *userdata)
{
	struct kube_reflector *r = userdata;
	double t;
	int ret;

	r->watch_got_data = true;
	ev_timer_again(r->loop, &r->idle_timer);
	t = sync_phase_now_ms();
	ret = kube_stream_feed(r->stream, data, len, kube_reflector_on_event, r);
	kube_cache_decode_add(r->cache, sync_phase_now_ms() - t);
	kube_reflector_notify(r);
	if (ret < 0)
		r->watch_abort = ret;
	return ret;
}

/*
 * A 410 on a watch, or a streaming list's 410 or "too large": a new full sync at once. A
 * streaming list that met it at a resourceVersion starts again at an unset one (client-go);
 * at an unset one it is a plain failure (false).
 */
static bool kube_reflector_watch_gone(struct kube_reflector *r, const struct kube_http_result *res,
				      bool watch_list)
{
	if (r->watch_abort != -ESTALE && (res->err || !kube_reflector_rv_unusable(res)))
		return false;
	if (watch_list) {
		if (r->rv_unavailable || !r->rv)
			return false;
		r->rv_unavailable = true;
	}
	r->stats.relists_gone++;
	log_info(KUBE_REFLECTOR_COMPONENT, "watch resourceVersion too old, relisting",
		 "resource=%s resource_version=%s status=410", r->resource, r->rv ? r->rv : "");
	kube_reflector_schedule(r, KUBE_REFLECTOR_SYNC, 0.);
	return true;
}

static void kube_reflector_on_watch_done(const struct kube_http_result *res, void *userdata)
{
	struct kube_reflector *r = userdata;
	bool short_lived = ev_now(r->loop) - r->watch_started < KUBE_REFLECTOR_MIN_WATCH_S;
	/* A streaming list that ended before its end bookmark: the next step is a new sync. */
	bool watch_list = r->initial != NULL;
	enum kube_reflector_step step = watch_list ? KUBE_REFLECTOR_SYNC : KUBE_REFLECTOR_WATCH;
	char why[512];

	r->req = NULL;
	ev_timer_stop(r->loop, &r->idle_timer);
	kube_reflector_initial_clear(r);
	kube_stream_reset(r->stream);
	if (kube_reflector_watch_gone(r, res, watch_list))
		return;
	if (watch_list && res->err == 0 && (res->status == 400 || res->status == 422)) {
		kube_reflector_watch_list_give_up(r, kube_reflector_why(r, res, why, sizeof(why)));
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
		kube_reflector_retry(r, step, NULL, "watch aborted", why);
		return;
	}
	if (res->err == 0 && res->status == 200 && (r->watch_got_data || !short_lived)) {
		/* The server's timeout, or a clean close: resume at once. */
		log_debug(KUBE_REFLECTOR_COMPONENT, "watch ended", "resource=%s resource_version=%s",
			  r->resource, r->rv ? r->rv : "");
		kube_reflector_schedule(r, step, 0.);
		return;
	}
	if (res->err == 0 && res->status == 200)
		snprintf(why, sizeof(why), "watch closed at once without an event");
	else
		kube_reflector_why(r, res, why, sizeof(why));
	r->fresh_connect = res->err != 0;
	kube_reflector_retry(r, step, res, "watch failed", why);
}

static void kube_reflector_on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kube_reflector *r = container_of(w, struct kube_reflector, idle_timer);
	enum kube_reflector_step step = r->initial ? KUBE_REFLECTOR_SYNC : KUBE_REFLECTOR_WATCH;

	ev_timer_stop(loop, w);
	r->req = kube_http_req_cancel(r->req);
	kube_reflector_initial_clear(r);
	kube_stream_reset(r->stream);
	r->stats.idle_restarts++;
	/* The connection may be half-open: the next watch opens a new one. */
	r->fresh_connect = true;
	log_warn(KUBE_REFLECTOR_COMPONENT, "watch idle, restarting",
		 "resource=%s idle_limit=%ums resource_version=%s", r->resource,
		 r->opts.idle_limit_ms, r->rv ? r->rv : "");
	kube_reflector_schedule(r, step, 0.);
}

/*
 * A watch from the last resourceVersion; with r->initial, a streaming list: the same watch
 * asking for the initial events (resourceVersionMatch=NotOlderThan is required with them).
 */
static void kube_reflector_start_watch(struct kube_reflector *r)
{
	_cleanup_free_ char *url = NULL;
	struct kube_http_get_options o = { .fresh_connect = r->fresh_connect };
	unsigned timeout_s = r->opts.watch_timeout_s;
	const char *rv = r->initial && r->rv_unavailable ? NULL : r->rv;
	int ret;

	if (timeout_s == 0)
		timeout_s = 300 + kube_reflector_rand(r) % 300;
	r->watch_abort = 0;
	r->watch_error_code = 0;
	r->watch_got_data = false;
	r->watch_started = ev_now(r->loop);
	kube_stream_reset(r->stream);
	if (asprintf(&url, "%s?watch=1%s&allowWatchBookmarks=true&timeoutSeconds=%u", r->path,
		     r->initial ? "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan" : "",
		     timeout_s) < 0) {
		url = NULL;
		ret = -ENOMEM;
	} else {
		ret = kube_reflector_param(&url, "resourceVersion", rv);
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
		kube_reflector_retry(r, r->initial ? KUBE_REFLECTOR_SYNC : KUBE_REFLECTOR_WATCH,
				     NULL, "watch failed", strerror(-ret));
		kube_reflector_initial_clear(r);
		return;
	}
	r->stats.watches++;
	ev_timer_set(&r->idle_timer, 0., r->opts.idle_limit_ms / 1000.0);
	ev_timer_again(r->loop, &r->idle_timer);
	log_debug(KUBE_REFLECTOR_COMPONENT, r->initial ? "watch list" : "watch",
		  "resource=%s resource_version=%s", r->resource, rv ? rv : "unset");
}

static void kube_reflector_on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kube_reflector *r = container_of(w, struct kube_reflector, retry_timer);

	ev_timer_stop(loop, w);
	if (r->req)
		return;
	switch (r->next_step) {
	case KUBE_REFLECTOR_WATCH:
		if (r->rv) {
			kube_reflector_start_watch(r);
			break;
		}
		kube_reflector_start_sync(r);
		break;
	case KUBE_REFLECTOR_LIST_AGAIN:
		kube_reflector_list_page(r);
		break;
	case KUBE_REFLECTOR_SYNC:
		kube_reflector_start_sync(r);
		break;
	}
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
	ev_init(&r->initial_timer, kube_reflector_on_initial_wait);
	if (r->opts.initial_events_wait_ms == 0)
		r->opts.initial_events_wait_ms = KUBE_REFLECTOR_INITIAL_EVENTS_WAIT_MS;
	r->watch_list = !opts->no_watch_list;
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
	kube_reflector_initial_clear(r);
	kube_stream_free(r->stream);
	free(r->label_selector);
	free(r->field_selector);
	free(r->proxy_name);
	free(r->continue_token);
	free(r->list_at);
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
	kube_reflector_start_sync(r);
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
