/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reflector's state and the calls its two files share: kube_reflector.c (the watch, the
 * streaming list, timers and lifecycle) and kube_reflector_list.c (the paginated LIST). Not for
 * use outside them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "kube_backoff.h"
#include "kube_reflector.h"

#define KUBE_REFLECTOR_COMPONENT "kube"

struct cJSON;
struct kube_http_result;

enum kube_reflector_step {
	KUBE_REFLECTOR_SYNC,	   /* a new full sync: the streaming list, or a LIST */
	KUBE_REFLECTOR_LIST_AGAIN, /* the same LIST once more, at r->list_at and r->list_limit */
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

	/* Where the next full sync reads, as client-go's reflector decides it */
	bool rv_unavailable; /* rv met 410 or "too large": read at an unset resourceVersion */
	bool paginated;	     /* the list at "0" came in pages (no watch cache): keep paging */
	bool watch_list;     /* try the streaming list; false once the server showed it cannot */
	bool synced_once;    /* a full sync has completed */

	/* LIST state */
	char *list_at;	     /* this list's resourceVersion parameter; NULL: unset */
	unsigned list_limit; /* this list's page size; 0: one page */
	bool list_paged;     /* this list came in more than one page */
	char *continue_token;
	char *list_rv;
	char *body;
	size_t body_len, body_cap;
	size_t list_objects;
	bool overflow;
	bool listing; /* a full sync is under way */
	/* Services the proxy filter dropped (reported once each); the list builds the next set. */
	struct kube_unproxied *unproxied, *unproxied_next;

	/* WATCH state */
	struct kube_stream *stream;
	char *rv;	       /* the last resourceVersion seen; "" before the first list */
	int watch_abort;       /* why the watch was aborted from the data callback */
	long watch_error_code; /* code of a watch ERROR event's Status */
	char watch_error_msg[256];
	bool watch_got_data;
	ev_tstamp watch_started;
	bool changed;

	/* Streaming list: its objects until the bookmark that ends the initial events */
	struct kube_cache *initial;
	ev_timer initial_timer; /* no initial event for this long: the server ignores the ask */

	struct kube_reflector_stats stats;
};

/* Appends "?key=<escaped value>" (or "&...") to *buf; nothing for a NULL or empty value. */
int kube_reflector_param(char **buf, const char *key, const char *value)
    __attribute__((warn_unused_result));
void kube_reflector_schedule(struct kube_reflector *r, enum kube_reflector_step step,
			     double delay_s);
/* After a failure: logs one line (what, why) and schedules step after the backoff delay. */
void kube_reflector_retry(struct kube_reflector *r, enum kube_reflector_step step,
			  const struct kube_http_result *res, const char *what, const char *why);
/* The text to log for a failed request, written to buf (redacted). */
const char *kube_reflector_why(struct kube_reflector *r, const struct kube_http_result *res,
			       char *buf, size_t size);
/* True for a reply saying the resourceVersion asked for is gone (410) or too large. */
bool kube_reflector_rv_unusable(const struct kube_http_result *res);
/* Decodes obj into the store being filled (the cache, or the streaming list's). */
int kube_reflector_put(struct kube_reflector *r, const struct cJSON *obj)
    __attribute__((warn_unused_result));

/* A full sync starts: counters, the next set of unproxied Services. */
void kube_reflector_sync_begin(struct kube_reflector *r);
/*
 * A full sync ended with the cache replaced at resourceVersion rv: logs it, notifies and starts
 * the watch (start_watch false: the streaming list's watch goes on). -ENOMEM when rv cannot
 * be kept (the caller retries).
 */
int kube_reflector_sync_end(struct kube_reflector *r, const char *rv, size_t objects,
			    bool start_watch) __attribute__((warn_unused_result));

/* kube_reflector_list.c */
void kube_reflector_list_start(struct kube_reflector *r);
void kube_reflector_list_page(struct kube_reflector *r);
