/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reflector's LIST, with client-go's choice of resourceVersion and page size: "0" first (the
 * watch cache), the last resourceVersion on a relist, unset (a consistent read) when that is too
 * old; pages of limit + continue, and one full list when a continue token expires. Each page
 * is applied as it arrives between kube_cache_replace_begin and _end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cleanup.h"
#include "kube_cache.h"
#include "kube_http.h"
#include "kube_json_split.h"
#include "kube_reflector_internal.h"
#include "kube_unproxied.h"
#include "log.h"
#include "sync_phase.h"

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
 * Applies one list page, one item at a time: a server may send the whole list as one page (at
 * resourceVersion=0 the watch cache ignores limit), and one cJSON tree of 28 MB of JSON (10 000
 * Services and their slices) is some 200 MB. The body is checked and split first
 * (kube_json_split.c), then the page without its items, then each item. Returns 0 with
 * *ret_continue set to the next page's token (NULL when this was the last page), -EBADMSG for
 * a reply that is not a list, or -ENOMEM.
 */
static int kube_reflector_apply_page(struct kube_reflector *r, char **ret_continue)
{
	_cleanup_(kube_json_split_clear) struct kube_json_split split = {0};
	_cleanup_(cJSON_Deletep) cJSON *doc = NULL;
	_cleanup_free_ char *shell = NULL;
	const cJSON *items, *meta, *v;
	const struct kube_json_doc *d;
	char *cont = NULL;
	size_t shell_len;
	int ret;

	ret = kube_json_split_run(r->body, r->body_len, &split, NULL);
	if (ret < 0)
		return ret == -ENOMEM ? -ENOMEM : -EBADMSG;
	if (split.n_docs != 1)
		return -EBADMSG;
	d = &split.docs[0];
	if (kube_json_doc_shell(r->body, d, &shell, &shell_len) < 0)
		return -ENOMEM;
	doc = cJSON_ParseWithLength(shell, shell_len);
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
	for (size_t i = 0; i < d->n_items; i++) {
		const struct kube_json_span *span = &split.items[d->first_item + i];
		_cleanup_(cJSON_Deletep) cJSON *item =
		    cJSON_ParseWithLength(r->body + span->off, span->len);

		if (!item)
			return -ENOMEM; /* the split checked its syntax: only memory is left */
		ret = kube_reflector_put(r, item);
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

/*
 * A 410 or "too large" reply: true when it was handled by listing again at once, as client-go
 * does. An expired continue token: the same resourceVersion in one full list (its pager's
 * FullListIfExpired). A resourceVersion the server no longer has: an unset one (a consistent
 * read), with the same page size. A consistent list that gets it: false, a plain failure.
 */
static bool kube_reflector_list_gone(struct kube_reflector *r, const struct kube_http_result *res,
				     bool was_continue)
{
	if (!kube_reflector_rv_unusable(res))
		return false;
	if (was_continue && res->status == 410) {
		r->list_limit = 0;
		log_info(KUBE_REFLECTOR_COMPONENT, "list continue token expired, listing in full",
			 "resource=%s status=410", r->resource);
	} else if (r->list_at) {
		log_info(KUBE_REFLECTOR_COMPONENT,
			 "list resourceVersion unavailable, listing at the latest",
			 "resource=%s resource_version=%s status=%ld", r->resource, r->list_at,
			 res->status);
		r->rv_unavailable = true;
		free(r->list_at);
		r->list_at = NULL;
	} else {
		return false;
	}
	r->stats.relists_gone++;
	kube_reflector_schedule(r, KUBE_REFLECTOR_LIST_AGAIN, 0.);
	return true;
}

static void kube_reflector_on_list_done(const struct kube_http_result *res, void *userdata)
{
	struct kube_reflector *r = userdata;
	bool was_continue = r->continue_token != NULL;
	char why[512];
	char *cont = NULL;
	double t;
	int ret;

	r->req = NULL;
	free(r->continue_token);
	r->continue_token = NULL;
	if (res->err || res->status != 200) {
		kube_reflector_body_clear(r);
		if (res->err == 0 && kube_reflector_list_gone(r, res, was_continue))
			return;
		if (r->overflow)
			snprintf(why, sizeof(why), "list page larger than %zu bytes",
				 kube_reflector_list_max(r));
		else
			kube_reflector_why(r, res, why, sizeof(why));
		r->fresh_connect = res->err != 0;
		kube_reflector_retry(r, KUBE_REFLECTOR_SYNC, res, "list failed", why);
		return;
	}
	r->stats.pages++;
	t = sync_phase_now_ms();
	ret = kube_reflector_apply_page(r, &cont);
	kube_cache_decode_add(r->cache, sync_phase_now_ms() - t);
	kube_reflector_body_clear(r);
	if (ret < 0) {
		kube_reflector_retry(r, KUBE_REFLECTOR_SYNC, res, "list failed",
				     ret == -EBADMSG ? "the reply is not a JSON list"
						     : strerror(-ret));
		return;
	}
	if (cont) {
		r->continue_token = cont;
		r->list_paged = true;
		kube_reflector_list_page(r);
		return;
	}
	/*
	 * Pages from a list at "0" mean the server has no watch cache for it: a later list at a
	 * resourceVersion is then paged too (it reaches etcd either way).
	 */
	if (r->list_paged && r->list_at && strcmp(r->list_at, "0") == 0)
		r->paginated = true;
	kube_cache_replace_end(r->cache, r->opts.kind);
	if (kube_reflector_sync_end(r, r->list_rv, r->list_objects, true) < 0)
		kube_reflector_retry(r, KUBE_REFLECTOR_SYNC, NULL, "list failed", strerror(ENOMEM));
}

/*
 * Requests the next page (after a continue token), or the first page of the list at r->list_at
 * and r->list_limit. The first page starts the cache's replace; a continue page carries no
 * resourceVersion (the token holds it; the server refuses both).
 */
void kube_reflector_list_page(struct kube_reflector *r)
{
	_cleanup_free_ char *url = strdup(r->path);
	struct kube_http_get_options o = {
	    .timeout_ms = r->opts.list_timeout_ms,
	    .compressed = true,
	    .fresh_connect = r->fresh_connect,
	};
	char limit[16] = "";
	int ret;

	if (!r->continue_token) {
		r->list_objects = 0;
		r->list_paged = false;
		free(r->list_rv);
		r->list_rv = NULL;
		kube_cache_replace_begin(r->cache, r->opts.kind);
	}
	r->overflow = false;
	kube_reflector_body_clear(r);
	if (r->list_limit)
		snprintf(limit, sizeof(limit), "%u", r->list_limit);
	ret = url ? kube_reflector_param(&url, "limit", limit) : -ENOMEM;
	if (ret == 0 && !r->continue_token)
		ret = kube_reflector_param(&url, "resourceVersion", r->list_at);
	if (ret == 0)
		ret = kube_reflector_param(&url, "labelSelector", r->label_selector);
	if (ret == 0)
		ret = kube_reflector_param(&url, "fieldSelector", r->field_selector);
	if (ret == 0)
		ret = kube_reflector_param(&url, "continue", r->continue_token);
	if (ret == 0)
		ret = kube_http_get(r->http, url, &o, kube_reflector_on_list_data,
				    kube_reflector_on_list_done, r, &r->req);
	r->fresh_connect = false;
	if (ret < 0) {
		free(r->continue_token);
		r->continue_token = NULL;
		kube_reflector_retry(r, KUBE_REFLECTOR_SYNC, NULL, "list failed", strerror(-ret));
		return;
	}
	log_debug(KUBE_REFLECTOR_COMPONENT, "list", "resource=%s resource_version=%s continue=%s",
		  r->resource, r->list_at ? r->list_at : "unset", r->continue_token ? "yes" : "no");
}

/*
 * A new full LIST. client-go's reflector reads at "0" first (any state, from the watch cache),
 * then at the last resourceVersion it synced to, and at an unset one (the latest, from etcd)
 * after that was unavailable. It pages at "0" and unset; at a resourceVersion it asks for one
 * page unless the first list came in pages, because the watch cache serves only unpaged lists
 * at a resourceVersion (a paged one would go to etcd, or be an exact read that may be gone).
 */
void kube_reflector_list_start(struct kube_reflector *r)
{
	free(r->list_at);
	r->list_at = NULL;
	if (!r->rv_unavailable) {
		r->list_at = strdup(r->rv && *r->rv ? r->rv : "0");
		if (!r->list_at) {
			kube_reflector_retry(r, KUBE_REFLECTOR_SYNC, NULL, "list failed",
					     strerror(ENOMEM));
			return;
		}
	}
	r->list_limit = r->opts.page_limit;
	if (r->list_at && strcmp(r->list_at, "0") != 0 && !r->paginated)
		r->list_limit = 0;
	kube_reflector_sync_begin(r);
	kube_reflector_list_page(r);
}
