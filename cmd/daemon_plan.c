/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's incremental plan: each Service's planned virtual servers (plan_service()), kept
 * per Service, plus an index from virtual server key to the Services that claim it. A change
 * re-plans only the changed Services, and cross-Service conflicts are resolved by the same
 * order as plan_build(), so the merged table always equals plan_build()'s on the same cache.
 */
#include "daemon_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "cleanup.h"
#include "log.h"
#include "plan.h"

/* One Service's planned virtual servers (after its own conflicts are resolved). */
struct daemon_plan_svc {
	char *key; /* "ns/name" */
	struct plan_table table;
	UT_hash_handle hh;
};

/* The binary key of a virtual server: (family, protocol, address, port). */
struct daemon_plan_vskey {
	int family;
	int proto;
	uint8_t addr[16];
	uint16_t port;
	uint16_t pad; /* zero; keeps the key free of uninitialised padding */
};

/* Every claim on one key; the winner is the least by plan_vs_claim_compare(). */
struct daemon_plan_key {
	struct daemon_plan_vskey key;
	const struct plan_vs **claims; /* point into daemon_plan_svc tables */
	size_t n_claims;
	UT_hash_handle hh;
};

struct daemon_plan {
	struct daemon_plan_svc *services;
	struct daemon_plan_key *keys;
	struct plan_vs *merged; /* shallow copies of the winners, sorted by key */
	size_t n_merged;
	bool dirty; /* merged must be rebuilt */
};

struct daemon_plan *daemon_plan_new(void)
{
	return calloc(1, sizeof(struct daemon_plan));
}

static void daemon_plan_svc_free(struct daemon_plan_svc *s)
{
	if (!s)
		return;
	plan_table_clear(&s->table);
	free(s->key);
	free(s);
}

struct daemon_plan *daemon_plan_free(struct daemon_plan *p)
{
	struct daemon_plan_svc *s, *stmp;
	struct daemon_plan_key *k, *ktmp;

	if (!p)
		return NULL;
	HASH_ITER(hh, p->keys, k, ktmp)
	{
		HASH_DEL(p->keys, k);
		free(k->claims);
		free(k);
	}
	HASH_ITER(hh, p->services, s, stmp)
	{
		HASH_DEL(p->services, s);
		daemon_plan_svc_free(s);
	}
	free(p->merged);
	free(p);
	return NULL;
}

static void daemon_plan_vskey_of(const struct plan_vs *vs, struct daemon_plan_vskey *k)
{
	memset(k, 0, sizeof(*k));
	k->family = vs->addr.family;
	k->proto = (int)vs->proto;
	memcpy(k->addr, vs->addr.bytes, sizeof(k->addr));
	k->port = vs->port;
}

static const struct plan_vs *daemon_plan_key_winner(const struct daemon_plan_key *k)
{
	const struct plan_vs *w = NULL;

	for (size_t i = 0; i < k->n_claims; i++)
		if (!w || plan_vs_claim_compare(k->claims[i], w) < 0)
			w = k->claims[i];
	return w;
}

static int daemon_plan_claim_add(struct daemon_plan *p, const struct plan_vs *vs)
{
	struct daemon_plan_vskey key;
	struct daemon_plan_key *k;
	const struct plan_vs **claims;

	daemon_plan_vskey_of(vs, &key);
	HASH_FIND(hh, p->keys, &key, sizeof(key), k);
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return -ENOMEM;
		k->key = key;
		HASH_ADD(hh, p->keys, key, sizeof(key), k);
	}
	claims = reallocarray(k->claims, k->n_claims + 1, sizeof(*claims));
	if (!claims) {
		if (k->n_claims == 0) {
			HASH_DEL(p->keys, k);
			free(k->claims);
			free(k);
		}
		return -ENOMEM;
	}
	claims[k->n_claims++] = vs;
	k->claims = claims;
	return 0;
}

static void daemon_plan_claim_remove(struct daemon_plan *p, const struct plan_vs *vs)
{
	struct daemon_plan_vskey key;
	struct daemon_plan_key *k;

	daemon_plan_vskey_of(vs, &key);
	HASH_FIND(hh, p->keys, &key, sizeof(key), k);
	if (!k)
		return;
	for (size_t i = 0; i < k->n_claims; i++) {
		if (k->claims[i] != vs)
			continue;
		k->claims[i] = k->claims[--k->n_claims];
		break;
	}
	if (k->n_claims == 0) {
		HASH_DEL(p->keys, k);
		free(k->claims);
		free(k);
	}
}

static bool daemon_plan_str_equal(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Deep equality of two virtual servers, including what they are for (logs, metrics). */
static bool daemon_plan_vs_equal(const struct plan_vs *a, const struct plan_vs *b)
{
	if (plan_vs_key_compare(a, b) != 0 || a->kind != b->kind ||
	    strcmp(a->scheduler, b->scheduler) != 0 || a->sched_flags != b->sched_flags ||
	    a->persistent != b->persistent || a->timeout != b->timeout ||
	    a->n_dests != b->n_dests ||
	    !daemon_plan_str_equal(a->svc_namespace, b->svc_namespace) ||
	    !daemon_plan_str_equal(a->svc_name, b->svc_name) ||
	    !daemon_plan_str_equal(a->port_name, b->port_name))
		return false;
	for (size_t i = 0; i < a->n_dests; i++)
		if (!net_addr_equal(&a->dests[i].addr, &b->dests[i].addr) ||
		    a->dests[i].port != b->dests[i].port ||
		    a->dests[i].weight != b->dests[i].weight)
			return false;
	return true;
}

static bool daemon_plan_table_equal(const struct plan_table *a, const struct plan_table *b)
{
	if (a->n_vs != b->n_vs)
		return false;
	for (size_t i = 0; i < a->n_vs; i++)
		if (!daemon_plan_vs_equal(&a->vs[i], &b->vs[i]))
			return false;
	return true;
}

/* Logs each of the Service's claims that another Service's claim beats (once per re-plan). */
static void daemon_plan_note_lost(struct daemon_plan *p, const struct daemon_plan_svc *s)
{
	char addr[NET_ADDR_STRLEN];

	for (size_t i = 0; i < s->table.n_vs; i++) {
		const struct plan_vs *vs = &s->table.vs[i];
		struct daemon_plan_vskey key;
		struct daemon_plan_key *k;
		const struct plan_vs *w;

		daemon_plan_vskey_of(vs, &key);
		HASH_FIND(hh, p->keys, &key, sizeof(key), k);
		w = k ? daemon_plan_key_winner(k) : NULL;
		if (!w || w == vs)
			continue;
		log_info("plan", "conflict",
			 "kind=Service svc=%s vs=%s/%s detail=\"%s already used by %s of %s/%s\"",
			 s->key, net_addr_format_port(&vs->addr, vs->port, addr),
			 kube_proto_to_string(vs->proto), plan_vs_kind_to_string(vs->kind),
			 plan_vs_kind_to_string(w->kind), w->svc_namespace, w->svc_name);
	}
}

int daemon_plan_update(struct daemon_plan *p, const struct plan_input *in, const char *key)
{
	_cleanup_(plan_table_clear) struct plan_table table = {0};
	const struct kube_service *svc = NULL;
	struct daemon_plan_svc *s;
	const char *slash = strchr(key, '/');
	int r;

	if (slash) {
		_cleanup_free_ char *ns = strndup(key, (size_t)(slash - key));

		if (!ns)
			return -ENOMEM;
		svc = kube_cache_get_service(in->cache, ns, slash + 1);
	}
	if (svc) {
		r = plan_service(in, svc, &table);
		if (r < 0)
			return r;
	}

	HASH_FIND_STR(p->services, key, s);
	if (s && daemon_plan_table_equal(&s->table, &table))
		return 0;
	if (!s && table.n_vs == 0)
		return 0;

	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->key = strdup(key);
		if (!s->key) {
			free(s);
			return -ENOMEM;
		}
		HASH_ADD_KEYPTR(hh, p->services, s->key, strlen(s->key), s);
	}
	for (size_t i = 0; i < s->table.n_vs; i++)
		daemon_plan_claim_remove(p, &s->table.vs[i]);
	plan_table_clear(&s->table);
	s->table = table;
	table = (struct plan_table){0};
	p->dirty = true;

	for (size_t i = 0; i < s->table.n_vs; i++) {
		r = daemon_plan_claim_add(p, &s->table.vs[i]);
		if (r < 0) {
			/* Keep the index consistent: this Service then claims nothing. */
			for (size_t j = 0; j < i; j++)
				daemon_plan_claim_remove(p, &s->table.vs[j]);
			HASH_DEL(p->services, s);
			daemon_plan_svc_free(s);
			return r;
		}
	}
	if (s->table.n_vs == 0) {
		HASH_DEL(p->services, s);
		daemon_plan_svc_free(s);
		return 1;
	}
	daemon_plan_note_lost(p, s);
	return 1;
}

struct daemon_plan_all {
	struct daemon_plan *p;
	const struct plan_input *in;
	int changed;
	int err;
};

static int daemon_plan_all_one(const struct kube_service *svc, void *userdata)
{
	struct daemon_plan_all *a = userdata;
	char key[512];
	int r;

	(void)snprintf(key, sizeof(key), "%s/%s", svc->meta.namespace, svc->meta.name);
	r = daemon_plan_update(a->p, a->in, key);
	if (r < 0) {
		a->err = r;
		return 1;
	}
	a->changed |= r;
	return 0;
}

int daemon_plan_update_all(struct daemon_plan *p, const struct plan_input *in)
{
	struct daemon_plan_all a = {.p = p, .in = in};
	struct daemon_plan_svc *s, *stmp;
	int r;

	/* Services no longer cached first, then every cached one. */
	HASH_ITER(hh, p->services, s, stmp)
	{
		const char *slash = strchr(s->key, '/');
		_cleanup_free_ char *ns = slash ? strndup(s->key, (size_t)(slash - s->key)) : NULL;

		if (slash && !ns)
			return -ENOMEM;
		if (ns && kube_cache_get_service(in->cache, ns, slash + 1))
			continue;
		r = daemon_plan_update(p, in, s->key);
		if (r < 0)
			return r;
		a.changed |= r;
	}
	r = kube_cache_foreach_service(in->cache, daemon_plan_all_one, &a);
	if (a.err < 0)
		return a.err;
	if (r < 0)
		return r;
	return a.changed;
}

static int daemon_plan_vs_qsort_compare(const void *a, const void *b)
{
	return plan_vs_key_compare(a, b);
}

int daemon_plan_table(struct daemon_plan *p, struct plan_table *ret_view)
{
	struct daemon_plan_key *k, *ktmp;
	size_t n = 0;

	if (p->dirty) {
		struct plan_vs *merged = NULL;
		size_t count = HASH_COUNT(p->keys);

		if (count > 0) {
			merged = calloc(count, sizeof(*merged));
			if (!merged)
				return -ENOMEM;
		}
		HASH_ITER(hh, p->keys, k, ktmp)
		{
			merged[n++] = *daemon_plan_key_winner(k);
		}
		if (n > 0)
			qsort(merged, n, sizeof(*merged), daemon_plan_vs_qsort_compare);
		free(p->merged);
		p->merged = merged;
		p->n_merged = n;
		p->dirty = false;
	}
	*ret_view = (struct plan_table){.vs = p->merged, .n_vs = p->n_merged};
	return 0;
}

size_t daemon_plan_count_services(const struct daemon_plan *p)
{
	return HASH_COUNT(p->services);
}
