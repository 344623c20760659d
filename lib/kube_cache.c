/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The object caches behind kube_cache.h: uthash tables of Services and EndpointSlices keyed by
 * "namespace/name", a per-Service index of slices kept in name order, and the set of Service
 * keys changed since the daemon last asked. Every operation costs O(1) or O(slices of one
 * Service), so work stays proportional to the change.
 */
#include "kube_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>
#include <utlist.h>

#include "cleanup.h"
#include "kube_model.h"

struct kube_cache_svc {
	char *key; /* "ns/name" */
	struct kube_service *svc;
	bool seen; /* put between replace_begin and replace_end */
	UT_hash_handle hh;
};

struct kube_cache_group;

struct kube_cache_slice {
	char *key; /* "ns/name" of the slice */
	struct kube_endpoint_slice *slice;
	struct kube_cache_group *group; /* the Service it belongs to; NULL without the label */
	bool seen;
	UT_hash_handle hh;
	struct kube_cache_slice *prev, *next; /* in group->slices, by slice name */
};

/* The slices labelled for one Service key. */
struct kube_cache_group {
	char *key; /* "ns/service-name" */
	struct kube_cache_slice *slices;
	UT_hash_handle hh;
};

struct kube_cache_change {
	char *key;
	UT_hash_handle hh;
};

struct kube_cache {
	struct kube_cache_svc *services;
	struct kube_cache_slice *slices;
	struct kube_cache_group *groups;
	struct kube_cache_change *changes;
	char *node_name;
	struct kube_node *node;
	bool node_seen;
	bool node_changed;
	bool replacing[_KUBE_KIND_MAX];
	bool synced[_KUBE_KIND_MAX];
	double decode_ms; /* spent by the sources since kube_cache_decode_take() */
};

const char *kube_kind_to_string(enum kube_kind kind)
{
	switch (kind) {
	case KUBE_KIND_SERVICE:
		return "Service";
	case KUBE_KIND_ENDPOINT_SLICE:
		return "EndpointSlice";
	case KUBE_KIND_NODE:
		return "Node";
	case _KUBE_KIND_MAX:
		break;
	}
	return "?";
}

static char *kube_cache_key(const char *ns, const char *name)
{
	char *key;

	if (asprintf(&key, "%s/%s", ns ? ns : "", name ? name : "") < 0)
		return NULL;
	return key;
}

struct kube_cache *kube_cache_new(void)
{
	return calloc(1, sizeof(struct kube_cache));
}

static void kube_cache_slice_unlink(struct kube_cache *cache, struct kube_cache_slice *e)
{
	struct kube_cache_group *g = e->group;

	if (!g)
		return;
	DL_DELETE(g->slices, e);
	e->group = NULL;
	if (!g->slices) {
		HASH_DEL(cache->groups, g);
		free(g->key);
		free(g);
	}
}

struct kube_cache *kube_cache_free(struct kube_cache *cache)
{
	struct kube_cache_svc *s, *stmp;
	struct kube_cache_slice *e, *etmp;
	struct kube_cache_change *c, *ctmp;

	if (!cache)
		return NULL;
	HASH_ITER(hh, cache->services, s, stmp) {
		HASH_DEL(cache->services, s);
		kube_service_free(s->svc);
		free(s->key);
		free(s);
	}
	HASH_ITER(hh, cache->slices, e, etmp) {
		kube_cache_slice_unlink(cache, e);
		HASH_DEL(cache->slices, e);
		kube_endpoint_slice_free(e->slice);
		free(e->key);
		free(e);
	}
	HASH_ITER(hh, cache->changes, c, ctmp) {
		HASH_DEL(cache->changes, c);
		free(c->key);
		free(c);
	}
	kube_node_free(cache->node);
	free(cache->node_name);
	free(cache);
	return NULL;
}

/* Adds key to the change set (copied). 0 or -ENOMEM. */
static int kube_cache_mark(struct kube_cache *cache, const char *key)
{
	struct kube_cache_change *c;

	HASH_FIND_STR(cache->changes, key, c);
	if (c)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->key = strdup(key);
	if (!c->key) {
		free(c);
		return -ENOMEM;
	}
	HASH_ADD_KEYPTR(hh, cache->changes, c->key, strlen(c->key), c);
	return 0;
}

static bool kube_str_equal(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool kube_addrs_equal(const struct net_addr *a, size_t na, const struct net_addr *b,
			     size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!net_addr_equal(&a[i], &b[i]))
			return false;
	return true;
}

static bool kube_meta_equal(const struct kube_meta *a, const struct kube_meta *b)
{
	/* resourceVersion is left out: it changes for fields kipvs does not keep. */
	return kube_str_equal(a->namespace, b->namespace) && kube_str_equal(a->name, b->name) &&
	       kube_str_equal(a->uid, b->uid);
}

/* Equal in every decoded field (so equal for the plan). */
static bool kube_service_equal(const struct kube_service *a, const struct kube_service *b)
{
	if (!kube_meta_equal(&a->meta, &b->meta) || a->type != b->type ||
	    a->headless != b->headless ||
	    !kube_addrs_equal(a->cluster_ips, a->n_cluster_ips, b->cluster_ips, b->n_cluster_ips) ||
	    a->n_ip_families != b->n_ip_families || a->n_ports != b->n_ports ||
	    !kube_addrs_equal(a->external_ips, a->n_external_ips, b->external_ips,
			      b->n_external_ips) ||
	    a->n_lb_ingress != b->n_lb_ingress || a->n_lb_source_ranges != b->n_lb_source_ranges ||
	    a->affinity_client_ip != b->affinity_client_ip ||
	    a->affinity_timeout != b->affinity_timeout || a->external_policy != b->external_policy ||
	    a->internal_policy != b->internal_policy ||
	    a->health_check_node_port != b->health_check_node_port ||
	    !kube_str_equal(a->traffic_distribution, b->traffic_distribution) ||
	    !kube_str_equal(a->service_proxy_name, b->service_proxy_name) ||
	    a->label_headless != b->label_headless)
		return false;
	for (size_t i = 0; i < a->n_ip_families; i++)
		if (a->ip_families[i] != b->ip_families[i])
			return false;
	for (size_t i = 0; i < a->n_ports; i++) {
		const struct kube_svc_port *p = &a->ports[i], *q = &b->ports[i];

		if (!kube_str_equal(p->name, q->name) || p->proto != q->proto ||
		    p->port != q->port || p->node_port != q->node_port)
			return false;
	}
	for (size_t i = 0; i < a->n_lb_ingress; i++)
		if (!net_addr_equal(&a->lb_ingress[i].ip, &b->lb_ingress[i].ip) ||
		    a->lb_ingress[i].ip_mode_proxy != b->lb_ingress[i].ip_mode_proxy)
			return false;
	for (size_t i = 0; i < a->n_lb_source_ranges; i++)
		if (!net_addr_equal(&a->lb_source_ranges[i].addr, &b->lb_source_ranges[i].addr) ||
		    a->lb_source_ranges[i].len != b->lb_source_ranges[i].len)
			return false;
	return true;
}

static bool kube_endpoint_equal(const struct kube_endpoint *a, const struct kube_endpoint *b)
{
	if (!net_addr_equal(&a->addr, &b->addr) || a->ready != b->ready ||
	    a->serving != b->serving || a->terminating != b->terminating ||
	    !kube_str_equal(a->node_name, b->node_name) || !kube_str_equal(a->zone, b->zone) ||
	    a->n_hint_zones != b->n_hint_zones)
		return false;
	for (size_t z = 0; z < a->n_hint_zones; z++)
		if (!kube_str_equal(a->hint_zones[z], b->hint_zones[z]))
			return false;
	return true;
}

static bool kube_slice_equal(const struct kube_endpoint_slice *a,
			     const struct kube_endpoint_slice *b)
{
	/* last_change_trigger_time is left out: it moves with every change we would see anyway. */
	if (!kube_meta_equal(&a->meta, &b->meta) ||
	    !kube_str_equal(a->service_name, b->service_name) || a->family != b->family ||
	    a->n_ports != b->n_ports || a->n_endpoints != b->n_endpoints)
		return false;
	for (size_t i = 0; i < a->n_ports; i++)
		if (!kube_str_equal(a->ports[i].name, b->ports[i].name) ||
		    a->ports[i].proto != b->ports[i].proto || a->ports[i].port != b->ports[i].port)
			return false;
	for (size_t i = 0; i < a->n_endpoints; i++)
		if (!kube_endpoint_equal(&a->endpoints[i], &b->endpoints[i]))
			return false;
	return true;
}

static bool kube_node_equal(const struct kube_node *a, const struct kube_node *b)
{
	return kube_meta_equal(&a->meta, &b->meta) &&
	       kube_addrs_equal(a->internal_ips, a->n_internal_ips, b->internal_ips,
				b->n_internal_ips) &&
	       kube_addrs_equal(a->external_ips, a->n_external_ips, b->external_ips,
				b->n_external_ips) &&
	       kube_str_equal(a->zone, b->zone) && a->deleting == b->deleting &&
	       a->to_be_deleted == b->to_be_deleted;
}

/* Same resourceVersion when both have one; otherwise the decoded content decides. */
static bool kube_same_version(const struct kube_meta *a, const struct kube_meta *b)
{
	return a->resource_version && b->resource_version &&
	       strcmp(a->resource_version, b->resource_version) == 0;
}

int kube_cache_put_service(struct kube_cache *cache, struct kube_service *svc)
{
	_cleanup_free_ char *key = NULL;
	struct kube_cache_svc *s;
	bool same;
	int r;

	if (!svc)
		return -EINVAL;
	key = kube_cache_key(svc->meta.namespace, svc->meta.name);
	if (!key) {
		kube_service_free(svc);
		return -ENOMEM;
	}
	HASH_FIND_STR(cache->services, key, s);
	if (s) {
		if (cache->replacing[KUBE_KIND_SERVICE])
			s->seen = true;
		same = kube_same_version(&s->svc->meta, &svc->meta) ||
		       kube_service_equal(s->svc, svc);
		/* Keep the newest resourceVersion even when nothing else moved. */
		kube_service_free(s->svc);
		s->svc = svc;
		if (same)
			return 0;
		r = kube_cache_mark(cache, key);
		return r < 0 ? r : 1;
	}
	r = kube_cache_mark(cache, key);
	if (r < 0) {
		kube_service_free(svc);
		return r;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		kube_service_free(svc);
		return -ENOMEM;
	}
	s->key = TAKE_PTR(key);
	s->svc = svc;
	s->seen = cache->replacing[KUBE_KIND_SERVICE];
	HASH_ADD_KEYPTR(hh, cache->services, s->key, strlen(s->key), s);
	return 1;
}

/* Puts e into the group of its slice's Service (in slice-name order). 0 or -ENOMEM. */
static int kube_cache_slice_link(struct kube_cache *cache, struct kube_cache_slice *e)
{
	_cleanup_free_ char *gkey = NULL;
	struct kube_cache_group *g;
	struct kube_cache_slice *it;

	if (!e->slice->service_name)
		return 0;
	gkey = kube_cache_key(e->slice->meta.namespace, e->slice->service_name);
	if (!gkey)
		return -ENOMEM;
	HASH_FIND_STR(cache->groups, gkey, g);
	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		g->key = TAKE_PTR(gkey);
		HASH_ADD_KEYPTR(hh, cache->groups, g->key, strlen(g->key), g);
	}
	DL_FOREACH(g->slices, it)
	{
		if (strcmp(it->slice->meta.name, e->slice->meta.name) > 0)
			break;
	}
	if (it)
		DL_PREPEND_ELEM(g->slices, it, e);
	else
		DL_APPEND(g->slices, e);
	e->group = g;
	return 0;
}

/* Marks the Service a slice belongs to (if any) changed. */
static int kube_cache_mark_slice(struct kube_cache *cache, const struct kube_cache_slice *e)
{
	return e->group ? kube_cache_mark(cache, e->group->key) : 0;
}

int kube_cache_put_slice(struct kube_cache *cache, struct kube_endpoint_slice *slice)
{
	_cleanup_free_ char *key = NULL;
	struct kube_cache_slice *e;
	int r;

	if (!slice)
		return -EINVAL;
	key = kube_cache_key(slice->meta.namespace, slice->meta.name);
	if (!key) {
		kube_endpoint_slice_free(slice);
		return -ENOMEM;
	}
	HASH_FIND_STR(cache->slices, key, e);
	if (e) {
		if (cache->replacing[KUBE_KIND_ENDPOINT_SLICE])
			e->seen = true;
		if (kube_same_version(&e->slice->meta, &slice->meta) ||
		    kube_slice_equal(e->slice, slice)) {
			kube_endpoint_slice_free(e->slice);
			e->slice = slice;
			return 0;
		}
		/* The old Service (label may move), then the new one. */
		r = kube_cache_mark_slice(cache, e);
		kube_cache_slice_unlink(cache, e);
		kube_endpoint_slice_free(e->slice);
		e->slice = slice;
		if (r >= 0)
			r = kube_cache_slice_link(cache, e);
		if (r >= 0)
			r = kube_cache_mark_slice(cache, e);
		return r < 0 ? r : 1;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		kube_endpoint_slice_free(slice);
		return -ENOMEM;
	}
	e->key = TAKE_PTR(key);
	e->slice = slice;
	e->seen = cache->replacing[KUBE_KIND_ENDPOINT_SLICE];
	r = kube_cache_slice_link(cache, e);
	if (r >= 0)
		r = kube_cache_mark_slice(cache, e);
	if (r < 0) {
		kube_cache_slice_unlink(cache, e);
		kube_endpoint_slice_free(e->slice);
		free(e->key);
		free(e);
		return r;
	}
	HASH_ADD_KEYPTR(hh, cache->slices, e->key, strlen(e->key), e);
	return 1;
}

int kube_cache_put_node(struct kube_cache *cache, struct kube_node *node)
{
	bool same;

	if (!node)
		return -EINVAL;
	if (!cache->node_name || strcmp(cache->node_name, node->meta.name) != 0) {
		kube_node_free(node);
		return 0;
	}
	if (cache->replacing[KUBE_KIND_NODE])
		cache->node_seen = true;
	same = cache->node &&
	       (kube_same_version(&cache->node->meta, &node->meta) ||
		kube_node_equal(cache->node, node));
	kube_node_free(cache->node);
	cache->node = node;
	if (same)
		return 0;
	cache->node_changed = true;
	return 1;
}

int kube_cache_delete_service(struct kube_cache *cache, const char *ns, const char *name)
{
	_cleanup_free_ char *key = kube_cache_key(ns, name);
	struct kube_cache_svc *s;

	if (!key)
		return -ENOMEM;
	HASH_FIND_STR(cache->services, key, s);
	if (!s)
		return 0;
	HASH_DEL(cache->services, s);
	kube_service_free(s->svc);
	free(s->key);
	free(s);
	/* A failed mark cannot be retried; the periodic full pass heals it. */
	(void)kube_cache_mark(cache, key);
	return 1;
}

static void kube_cache_slice_remove(struct kube_cache *cache, struct kube_cache_slice *e)
{
	(void)kube_cache_mark_slice(cache, e);
	kube_cache_slice_unlink(cache, e);
	HASH_DEL(cache->slices, e);
	kube_endpoint_slice_free(e->slice);
	free(e->key);
	free(e);
}

int kube_cache_delete_slice(struct kube_cache *cache, const char *ns, const char *name)
{
	_cleanup_free_ char *key = kube_cache_key(ns, name);
	struct kube_cache_slice *e;

	if (!key)
		return -ENOMEM;
	HASH_FIND_STR(cache->slices, key, e);
	if (!e)
		return 0;
	kube_cache_slice_remove(cache, e);
	return 1;
}

int kube_cache_delete_node(struct kube_cache *cache, const char *name)
{
	if (!cache->node || !name || strcmp(cache->node->meta.name, name) != 0)
		return 0;
	cache->node = kube_node_free(cache->node);
	cache->node_changed = true;
	return 1;
}

int kube_cache_set_node_name(struct kube_cache *cache, const char *name)
{
	char *copy = strdup(name ? name : "");

	if (!copy)
		return -ENOMEM;
	free(cache->node_name);
	cache->node_name = copy;
	if (cache->node && strcmp(cache->node->meta.name, copy) != 0) {
		cache->node = kube_node_free(cache->node);
		cache->node_changed = true;
	}
	return 0;
}

const struct kube_service *kube_cache_get_service(const struct kube_cache *cache, const char *ns,
						  const char *name)
{
	_cleanup_free_ char *key = kube_cache_key(ns, name);
	struct kube_cache_svc *s;

	if (!key)
		return NULL;
	HASH_FIND_STR(cache->services, key, s);
	return s ? s->svc : NULL;
}

const struct kube_node *kube_cache_get_node(const struct kube_cache *cache)
{
	return cache->node;
}

size_t kube_cache_count_services(const struct kube_cache *cache)
{
	return HASH_COUNT(cache->services);
}

size_t kube_cache_count_slices(const struct kube_cache *cache)
{
	return HASH_COUNT(cache->slices);
}

int kube_cache_foreach_service(const struct kube_cache *cache, kube_cache_service_fn fn,
			       void *userdata)
{
	struct kube_cache_svc *s, *tmp;

	HASH_ITER(hh, cache->services, s, tmp) {
		int r = fn(s->svc, userdata);

		if (r != 0)
			return r;
	}
	return 0;
}

int kube_cache_foreach_slice_of(const struct kube_cache *cache, const char *ns, const char *name,
				kube_cache_slice_fn fn, void *userdata)
{
	_cleanup_free_ char *key = kube_cache_key(ns, name);
	struct kube_cache_group *g;
	struct kube_cache_slice *e;

	if (!key)
		return -ENOMEM;
	HASH_FIND_STR(cache->groups, key, g);
	if (!g)
		return 0;
	DL_FOREACH(g->slices, e)
	{
		int r = fn(e->slice, userdata);

		if (r != 0)
			return r;
	}
	return 0;
}

int kube_cache_foreach_slice(const struct kube_cache *cache, kube_cache_slice_fn fn,
			     void *userdata)
{
	struct kube_cache_slice *e, *tmp;

	HASH_ITER(hh, cache->slices, e, tmp) {
		int r = fn(e->slice, userdata);

		if (r != 0)
			return r;
	}
	return 0;
}

static int kube_cache_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kube_cache_take_changes(struct kube_cache *cache, char ***ret_keys, size_t *ret_n,
			    bool *ret_node_changed)
{
	size_t n = HASH_COUNT(cache->changes), i = 0;
	struct kube_cache_change *c, *tmp;
	char **keys = NULL;

	if (n > 0) {
		keys = calloc(n, sizeof(*keys));
		if (!keys)
			return -ENOMEM;
	}
	HASH_ITER(hh, cache->changes, c, tmp) {
		HASH_DEL(cache->changes, c);
		keys[i++] = c->key;
		free(c);
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), kube_cache_strcmp);
	*ret_keys = keys;
	*ret_n = n;
	*ret_node_changed = cache->node_changed;
	cache->node_changed = false;
	return 0;
}

void kube_cache_decode_add(struct kube_cache *cache, double ms)
{
	cache->decode_ms += ms;
}

double kube_cache_decode_take(struct kube_cache *cache)
{
	double ms = cache->decode_ms;

	cache->decode_ms = 0;
	return ms;
}

void kube_cache_changes_free(char **keys, size_t n)
{
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
}

void kube_cache_replace_begin(struct kube_cache *cache, enum kube_kind kind)
{
	struct kube_cache_svc *s, *stmp;
	struct kube_cache_slice *e, *etmp;

	cache->replacing[kind] = true;
	switch (kind) {
	case KUBE_KIND_SERVICE:
		HASH_ITER(hh, cache->services, s, stmp)
			s->seen = false;
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		HASH_ITER(hh, cache->slices, e, etmp)
			e->seen = false;
		break;
	case KUBE_KIND_NODE:
		cache->node_seen = false;
		break;
	case _KUBE_KIND_MAX:
		break;
	}
}

void kube_cache_replace_end(struct kube_cache *cache, enum kube_kind kind)
{
	struct kube_cache_svc *s, *stmp;
	struct kube_cache_slice *e, *etmp;

	if (!cache->replacing[kind])
		return;
	switch (kind) {
	case KUBE_KIND_SERVICE:
		HASH_ITER(hh, cache->services, s, stmp) {
			if (!s->seen)
				(void)kube_cache_delete_service(cache, s->svc->meta.namespace,
								s->svc->meta.name);
		}
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		HASH_ITER(hh, cache->slices, e, etmp) {
			if (!e->seen)
				kube_cache_slice_remove(cache, e);
		}
		break;
	case KUBE_KIND_NODE:
		if (cache->node && !cache->node_seen) {
			cache->node = kube_node_free(cache->node);
			cache->node_changed = true;
		}
		break;
	case _KUBE_KIND_MAX:
		break;
	}
	cache->replacing[kind] = false;
	cache->synced[kind] = true;
}

struct kube_cache *kube_cache_new_staging(const struct kube_cache *cache)
{
	struct kube_cache *staging = kube_cache_new();

	if (staging && cache->node_name && kube_cache_set_node_name(staging, cache->node_name) < 0)
		staging = kube_cache_free(staging);
	return staging;
}

int kube_cache_replace_from(struct kube_cache *cache, struct kube_cache *from, enum kube_kind kind)
{
	struct kube_cache_svc *s, *stmp;
	struct kube_cache_slice *e, *etmp;
	int r = 0;

	kube_cache_replace_begin(cache, kind);
	switch (kind) {
	case KUBE_KIND_SERVICE:
		HASH_ITER(hh, from->services, s, stmp) {
			struct kube_service *svc = TAKE_PTR(s->svc);

			HASH_DEL(from->services, s);
			free(s->key);
			free(s);
			r = kube_cache_put_service(cache, svc);
			if (r < 0)
				return r;
		}
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		HASH_ITER(hh, from->slices, e, etmp) {
			struct kube_endpoint_slice *slice = TAKE_PTR(e->slice);

			kube_cache_slice_unlink(from, e);
			HASH_DEL(from->slices, e);
			free(e->key);
			free(e);
			r = kube_cache_put_slice(cache, slice);
			if (r < 0)
				return r;
		}
		break;
	case KUBE_KIND_NODE:
		if (from->node)
			r = kube_cache_put_node(cache, TAKE_PTR(from->node));
		if (r < 0)
			return r;
		break;
	case _KUBE_KIND_MAX:
		break;
	}
	kube_cache_replace_end(cache, kind);
	return 0;
}

bool kube_cache_is_synced(const struct kube_cache *cache, enum kube_kind kind)
{
	return kind < _KUBE_KIND_MAX && cache->synced[kind];
}

int kube_cache_mark_seen(struct kube_cache *cache, enum kube_kind kind, const char *ns,
			 const char *name)
{
	_cleanup_free_ char *key = kube_cache_key(ns, name);
	struct kube_cache_svc *s;
	struct kube_cache_slice *e;

	if (!key)
		return -ENOMEM;
	switch (kind) {
	case KUBE_KIND_SERVICE:
		HASH_FIND_STR(cache->services, key, s);
		if (!s)
			return 0;
		s->seen = true;
		return 1;
	case KUBE_KIND_ENDPOINT_SLICE:
		HASH_FIND_STR(cache->slices, key, e);
		if (!e)
			return 0;
		e->seen = true;
		return 1;
	case KUBE_KIND_NODE:
		if (!cache->node || strcmp(cache->node->meta.name, name) != 0)
			return 0;
		cache->node_seen = true;
		return 1;
	case _KUBE_KIND_MAX:
		break;
	}
	return -EINVAL;
}
