/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one merge of claims (lib/plan.h): each Service's planned virtual servers (plan_service()),
 * kept per Service, plus an index from virtual server key to the Services that claim it; the
 * winner of a key is the least claim by plan_vs_claim_compare(). plan_build() fills a merge
 * with every Service and takes the table out; the daemon keeps one and re-plans only the
 * Services that changed. Both therefore give the same table and the same conflict notes.
 */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>
#include <utlist.h>

#include "cleanup.h"
#include "plan_internal.h"

/* One Service's planned virtual servers (after its own conflicts are resolved). */
struct plan_merge_svc {
	char *key; /* "ns/name" */
	struct plan_table table;
	UT_hash_handle hh;
};

/* The binary key of a virtual server: (family, protocol, address, port). */
struct plan_merge_vskey {
	int family;
	int proto;
	uint8_t addr[16];
	uint16_t port;
	uint16_t pad; /* zero; keeps the key free of uninitialised padding */
};

/* Every claim on one key; the winner is the least by plan_vs_claim_compare(). */
struct plan_merge_key {
	struct plan_merge_vskey key;
	struct plan_vs **claims; /* point into plan_merge_svc tables */
	size_t n_claims;
	bool touched; /* claimed by an update whose conflicts are not noted yet */
	struct plan_merge_key *touched_prev, *touched_next; /* the touched list (utlist) */
	UT_hash_handle hh;
};

struct plan_merge {
	struct plan_merge_svc *services;
	struct plan_merge_key *keys;
	struct plan_merge_key *touched; /* list of keys to note conflicts on */
	struct plan_vs *merged;		/* shallow copies of the winners, sorted by key */
	size_t n_merged;
	bool dirty; /* merged must be rebuilt (a key came or went) */
	bool contested; /* an update touched a key that more than one Service claims */
	bool rebuilt;	/* merged was rebuilt since plan_merge_take_rebuilt() */
};

struct plan_merge *plan_merge_new(void)
{
	return calloc(1, sizeof(struct plan_merge));
}

static void plan_merge_svc_free(struct plan_merge_svc *s)
{
	if (!s)
		return;
	plan_table_clear(&s->table);
	free(s->key);
	free(s);
}

static void plan_merge_key_free(struct plan_merge *m, struct plan_merge_key *k)
{
	if (k->touched)
		DL_DELETE2(m->touched, k, touched_prev, touched_next);
	HASH_DEL(m->keys, k);
	free(k->claims);
	free(k);
}

struct plan_merge *plan_merge_free(struct plan_merge *m)
{
	struct plan_merge_svc *s, *stmp;
	struct plan_merge_key *k, *ktmp;

	if (!m)
		return NULL;
	HASH_ITER(hh, m->keys, k, ktmp)
	{
		plan_merge_key_free(m, k);
	}
	HASH_ITER(hh, m->services, s, stmp)
	{
		HASH_DEL(m->services, s);
		plan_merge_svc_free(s);
	}
	free(m->merged);
	free(m);
	return NULL;
}

static void plan_merge_vskey_of(const struct plan_vs *vs, struct plan_merge_vskey *k)
{
	memset(k, 0, sizeof(*k));
	k->family = vs->addr.family;
	k->proto = (int)vs->proto;
	memcpy(k->addr, vs->addr.bytes, sizeof(k->addr));
	k->port = vs->port;
}

static struct plan_merge_key *plan_merge_key_find(const struct plan_merge *m,
						  const struct plan_vs *vs)
{
	struct plan_merge_vskey key;
	struct plan_merge_key *k;

	plan_merge_vskey_of(vs, &key);
	HASH_FIND(hh, m->keys, &key, sizeof(key), k);
	return k;
}

static struct plan_vs *plan_merge_key_winner(const struct plan_merge_key *k)
{
	struct plan_vs *w = NULL;

	for (size_t i = 0; i < k->n_claims; i++)
		if (!w || plan_vs_claim_compare(k->claims[i], w) < 0)
			w = k->claims[i];
	return w;
}

static int plan_merge_claim_add(struct plan_merge *m, struct plan_vs *vs)
{
	struct plan_merge_key *k = plan_merge_key_find(m, vs);
	struct plan_vs **claims;

	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return -ENOMEM;
		plan_merge_vskey_of(vs, &k->key);
		HASH_ADD(hh, m->keys, key, sizeof(k->key), k);
	}
	claims = reallocarray(k->claims, k->n_claims + 1, sizeof(*claims));
	if (!claims) {
		if (k->n_claims == 0)
			plan_merge_key_free(m, k);
		return -ENOMEM;
	}
	claims[k->n_claims++] = vs;
	k->claims = claims;
	m->contested |= k->n_claims > 1;
	if (!k->touched) {
		k->touched = true;
		DL_PREPEND2(m->touched, k, touched_prev, touched_next);
	}
	return 0;
}

static void plan_merge_claim_remove(struct plan_merge *m, const struct plan_vs *vs)
{
	struct plan_merge_key *k = plan_merge_key_find(m, vs);

	if (!k)
		return;
	m->contested |= k->n_claims > 1;
	for (size_t i = 0; i < k->n_claims; i++) {
		if (k->claims[i] != vs)
			continue;
		k->claims[i] = k->claims[--k->n_claims];
		break;
	}
	if (k->n_claims == 0)
		plan_merge_key_free(m, k);
}

static bool plan_merge_str_equal(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Deep equality of two virtual servers, including what they are for (logs, metrics). */
static bool plan_merge_vs_equal(const struct plan_vs *a, const struct plan_vs *b)
{
	if (plan_vs_key_compare(a, b) != 0 || a->kind != b->kind ||
	    strcmp(a->scheduler, b->scheduler) != 0 || a->sched_flags != b->sched_flags ||
	    a->persistent != b->persistent || a->timeout != b->timeout ||
	    a->n_dests != b->n_dests ||
	    !plan_merge_str_equal(a->svc_namespace, b->svc_namespace) ||
	    !plan_merge_str_equal(a->svc_name, b->svc_name) ||
	    !plan_merge_str_equal(a->port_name, b->port_name))
		return false;
	for (size_t i = 0; i < a->n_dests; i++)
		if (!net_addr_equal(&a->dests[i].addr, &b->dests[i].addr) ||
		    a->dests[i].port != b->dests[i].port ||
		    a->dests[i].weight != b->dests[i].weight)
			return false;
	return true;
}

static bool plan_merge_table_equal(const struct plan_table *a, const struct plan_table *b)
{
	if (a->n_vs != b->n_vs)
		return false;
	for (size_t i = 0; i < a->n_vs; i++)
		if (!plan_merge_vs_equal(&a->vs[i], &b->vs[i]))
			return false;
	return true;
}

/* Notes every losing claim on the keys claimed since the last call, each once. */
static void plan_merge_note_touched(struct plan_merge *m, const struct plan_input *in)
{
	while (m->touched) {
		struct plan_merge_key *k = m->touched;
		const struct plan_vs *w = plan_merge_key_winner(k);

		DL_DELETE2(m->touched, k, touched_prev, touched_next);
		k->touched = false;
		for (size_t i = 0; in->note && i < k->n_claims; i++)
			if (k->claims[i] != w)
				plan_note_conflict(in, k->claims[i], w);
	}
}

static bool plan_merge_same_keys(const struct plan_table *a, const struct plan_table *b)
{
	if (a->n_vs != b->n_vs)
		return false;
	for (size_t i = 0; i < a->n_vs; i++)
		if (plan_vs_key_compare(&a->vs[i], &b->vs[i]) != 0)
			return false;
	return true;
}

/*
 * The Service s claims the same keys as before, so merged keeps its keys: only their entries
 * are copied again from the (perhaps other) winners, in O(log n) each, instead of a rebuild
 * and sort of the whole table for an endpoint change.
 */
static void plan_merge_patch(struct plan_merge *m, const struct plan_merge_svc *s)
{
	for (size_t i = 0; i < s->table.n_vs; i++) {
		const struct plan_merge_key *k = plan_merge_key_find(m, &s->table.vs[i]);
		struct plan_vs *e = bsearch(&s->table.vs[i], m->merged, m->n_merged,
					    sizeof(*m->merged), plan_vs_key_qsort_compare);

		if (!k || !e) {
			m->dirty = true; /* cannot happen while merged is current; rebuild to be safe */
			return;
		}
		*e = *plan_merge_key_winner(k);
	}
}

/* Re-plans one Service without noting cross-Service conflicts. 1, 0 or -ENOMEM. */
static int plan_merge_update_one(struct plan_merge *m, const struct plan_input *in,
				 const char *key)
{
	_cleanup_(plan_table_clear) struct plan_table table = {0};
	const struct kube_service *svc = NULL;
	struct plan_merge_svc *s;
	const char *slash = strchr(key, '/');
	bool patch;
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

	HASH_FIND_STR(m->services, key, s);
	if (s && plan_merge_table_equal(&s->table, &table))
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
		HASH_ADD_KEYPTR(hh, m->services, s->key, strlen(s->key), s);
	}
	/* Decided before the old table goes: merged's entries of this Service point into it. */
	patch = !m->dirty && m->merged && plan_merge_same_keys(&s->table, &table);
	for (size_t i = 0; i < s->table.n_vs; i++)
		plan_merge_claim_remove(m, &s->table.vs[i]);
	plan_table_clear(&s->table);
	s->table = table;
	table = (struct plan_table){0};
	if (!patch)
		m->dirty = true;

	for (size_t i = 0; i < s->table.n_vs; i++) {
		r = plan_merge_claim_add(m, &s->table.vs[i]);
		if (r < 0) {
			/* Keep the index consistent: this Service then claims nothing. */
			for (size_t j = 0; j < i; j++)
				plan_merge_claim_remove(m, &s->table.vs[j]);
			HASH_DEL(m->services, s);
			plan_merge_svc_free(s);
			m->dirty = true;
			return r;
		}
	}
	if (s->table.n_vs == 0) {
		HASH_DEL(m->services, s);
		plan_merge_svc_free(s);
	} else if (patch) {
		plan_merge_patch(m, s);
	}
	return 1;
}

int plan_merge_update(struct plan_merge *m, const struct plan_input *in, const char *key)
{
	int r = plan_merge_update_one(m, in, key);

	plan_merge_note_touched(m, in);
	return r;
}

struct plan_merge_all {
	struct plan_merge *m;
	const struct plan_input *in;
	int changed;
	int err;
};

static int plan_merge_all_one(const struct kube_service *svc, void *userdata)
{
	struct plan_merge_all *a = userdata;
	char key[512];
	int r;

	(void)snprintf(key, sizeof(key), "%s/%s", svc->meta.namespace, svc->meta.name);
	r = plan_merge_update_one(a->m, a->in, key);
	if (r < 0) {
		a->err = r;
		return 1;
	}
	a->changed |= r;
	return 0;
}

int plan_merge_update_all(struct plan_merge *m, const struct plan_input *in)
{
	struct plan_merge_all a = {.m = m, .in = in};
	struct plan_merge_svc *s, *stmp;
	int r = 0;

	/* Services no longer cached first, then every cached one. */
	HASH_ITER(hh, m->services, s, stmp)
	{
		const char *slash = strchr(s->key, '/');
		_cleanup_free_ char *ns = slash ? strndup(s->key, (size_t)(slash - s->key)) : NULL;

		if (slash && !ns) {
			r = -ENOMEM;
			break;
		}
		if (ns && kube_cache_get_service(in->cache, ns, slash + 1))
			continue;
		r = plan_merge_update_one(m, in, s->key);
		if (r < 0)
			break;
		a.changed |= r;
	}
	if (r >= 0)
		r = kube_cache_foreach_service(in->cache, plan_merge_all_one, &a);
	/* Conflicts are noted once all claims are in, so each losing claim is noted once. */
	plan_merge_note_touched(m, in);
	if (a.err < 0)
		return a.err;
	if (r < 0)
		return r;
	return a.changed;
}

int plan_merge_table(struct plan_merge *m, struct plan_table *ret_view)
{
	struct plan_merge_key *k, *ktmp;
	size_t n = 0;

	if (m->dirty) {
		struct plan_vs *merged = NULL;
		size_t count = HASH_COUNT(m->keys);

		if (count > 0) {
			merged = calloc(count, sizeof(*merged));
			if (!merged)
				return -ENOMEM;
		}
		HASH_ITER(hh, m->keys, k, ktmp)
		{
			merged[n++] = *plan_merge_key_winner(k);
		}
		if (n > 0)
			qsort(merged, n, sizeof(*merged), plan_vs_key_qsort_compare);
		free(m->merged);
		m->merged = merged;
		m->n_merged = n;
		m->dirty = false;
		m->rebuilt = true;
	}
	*ret_view = (struct plan_table){.vs = m->merged, .n_vs = m->n_merged};
	return 0;
}

int plan_merge_take(struct plan_merge *m, struct plan_table *ret)
{
	struct plan_merge_key *k, *ktmp;
	struct plan_table view;
	int r = plan_merge_table(m, &view);

	if (r < 0)
		return r;
	/* The view's shallow copies take over what the winners own; the winners let go of it. */
	HASH_ITER(hh, m->keys, k, ktmp)
	{
		*plan_merge_key_winner(k) = (struct plan_vs){0};
		plan_merge_key_free(m, k);
	}
	*ret = view;
	m->merged = NULL;
	m->n_merged = 0;
	return (int)view.n_vs;
}

const struct plan_table *plan_merge_service_plan(const struct plan_merge *m, const char *key)
{
	struct plan_merge_svc *s;

	HASH_FIND_STR(m->services, key, s);
	return s ? &s->table : NULL;
}

bool plan_merge_take_rebuilt(struct plan_merge *m)
{
	bool r = m->rebuilt;

	m->rebuilt = false;
	return r;
}

bool plan_merge_take_contested(struct plan_merge *m)
{
	bool c = m->contested;

	m->contested = false;
	return c;
}

size_t plan_merge_count_services(const struct plan_merge *m)
{
	return HASH_COUNT(m->services);
}
