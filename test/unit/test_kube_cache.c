/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/kube_cache.c: puts and deletes, "unchanged" detection by resourceVersion
 * and by content, the change set (an EndpointSlice marks its Service, a moved label marks
 * both), the per-Service slice index in name order, the Node, and full-list replacement
 * (in place, and from a staging cache).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube_cache.h"
#include "kube_model.h"

static struct kube_service *make_svc(const char *ns, const char *name, const char *rv,
				     uint16_t port)
{
	struct kube_service *svc = calloc(1, sizeof(*svc));

	assert_non_null(svc);
	svc->meta.namespace = strdup(ns);
	svc->meta.name = strdup(name);
	svc->meta.resource_version = rv ? strdup(rv) : NULL;
	svc->ports = calloc(1, sizeof(*svc->ports));
	svc->ports[0].name = strdup("");
	svc->ports[0].port = port;
	svc->n_ports = 1;
	svc->affinity_timeout = KUBE_AFFINITY_TIMEOUT_DEFAULT;
	return svc;
}

static struct kube_endpoint_slice *make_slice(const char *ns, const char *name,
					      const char *svc_name, const char *rv, uint8_t last)
{
	struct kube_endpoint_slice *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->meta.namespace = strdup(ns);
	s->meta.name = strdup(name);
	s->meta.resource_version = rv ? strdup(rv) : NULL;
	s->service_name = svc_name ? strdup(svc_name) : NULL;
	s->family = AF_INET;
	s->endpoints = calloc(1, sizeof(*s->endpoints));
	s->endpoints[0].addr.family = AF_INET;
	s->endpoints[0].addr.bytes[0] = 10;
	s->endpoints[0].addr.bytes[3] = last;
	s->endpoints[0].ready = s->endpoints[0].serving = true;
	s->n_endpoints = 1;
	return s;
}

static struct kube_node *make_node(const char *name, const char *rv, bool deleting)
{
	struct kube_node *n = calloc(1, sizeof(*n));

	assert_non_null(n);
	n->meta.namespace = strdup("");
	n->meta.name = strdup(name);
	n->meta.resource_version = rv ? strdup(rv) : NULL;
	n->deleting = deleting;
	return n;
}

/* Takes the change set and compares it with want ("a/b,c/d", "" for none). */
static void expect_changes(struct kube_cache *cache, const char *step, const char *want,
			   bool want_node)
{
	char got[1024] = "";
	char **keys = NULL;
	size_t n = 0;
	bool node = false;

	assert_int_equal(kube_cache_take_changes(cache, &keys, &n, &node), 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(got, ",");
		strncat(got, keys[i], sizeof(got) - strlen(got) - 2);
	}
	kube_cache_changes_free(keys, n);
	if (strcmp(got, want) != 0 || node != want_node)
		fail_msg("step %s: changes [%s] node=%d, want [%s] node=%d", step, got, node, want,
			 want_node);
}

static void test_service_put_delete(void **state)
{
	struct kube_cache *cache = kube_cache_new();
	const struct kube_service *got;

	(void)state;
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "b", "1", 80)), 1);
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "a", "1", 80)), 1);
	assert_int_equal(kube_cache_put_service(cache, make_svc("other", "a", "1", 80)), 1);
	assert_int_equal(kube_cache_count_services(cache), 3);
	expect_changes(cache, "three adds", "ns/a,ns/b,other/a", false);
	expect_changes(cache, "taken", "", false);

	/* Same resourceVersion: unchanged, even if the content differs (it cannot, from the API). */
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "a", "1", 81)), 0);
	expect_changes(cache, "same rv", "", false);
	/* New resourceVersion, same content: unchanged for the plan, but the newest is kept. */
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "a", "2", 81)), 0);
	got = kube_cache_get_service(cache, "ns", "a");
	assert_non_null(got);
	assert_string_equal(got->meta.resource_version, "2");
	expect_changes(cache, "same content", "", false);
	/* No resourceVersion (files): content decides. */
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "a", NULL, 81)), 0);
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "a", NULL, 82)), 1);
	assert_int_equal(kube_cache_get_service(cache, "ns", "a")->ports[0].port, 82);
	expect_changes(cache, "content changed", "ns/a", false);

	assert_null(kube_cache_get_service(cache, "ns", "zzz"));
	assert_int_equal(kube_cache_delete_service(cache, "ns", "b"), 1);
	assert_int_equal(kube_cache_delete_service(cache, "ns", "b"), 0);
	assert_null(kube_cache_get_service(cache, "ns", "b"));
	assert_int_equal(kube_cache_count_services(cache), 2);
	expect_changes(cache, "delete", "ns/b", false);
	assert_int_equal(kube_cache_put_service(cache, NULL), -EINVAL);
	kube_cache_free(cache);
	assert_null(kube_cache_free(NULL));
}

struct collect {
	char names[512];
	int stop_after;
	int calls;
};

static int collect_slice(const struct kube_endpoint_slice *s, void *userdata)
{
	struct collect *c = userdata;

	if (c->names[0])
		strcat(c->names, ",");
	strcat(c->names, s->meta.name);
	return ++c->calls == c->stop_after ? 7 : 0;
}

static void expect_slices_of(struct kube_cache *cache, const char *ns, const char *svc,
			     const char *want)
{
	struct collect c = {0};

	assert_int_equal(kube_cache_foreach_slice_of(cache, ns, svc, collect_slice, &c), 0);
	if (strcmp(c.names, want) != 0)
		fail_msg("slices of %s/%s: [%s], want [%s]", ns, svc, c.names, want);
}

static void test_slices_mark_their_service(void **state)
{
	struct kube_cache *cache = kube_cache_new();
	struct collect c = {.stop_after = 2};

	(void)state;
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "web-c", "web", "1", 1)), 1);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "web-a", "web", "1", 2)), 1);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "web-b", "web", "1", 3)), 1);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "api-a", "api", "1", 4)), 1);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("x", "web-z", "web", "1", 5)), 1);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "orphan", NULL, "1", 6)), 1);
	assert_int_equal(kube_cache_count_slices(cache), 6);
	expect_changes(cache, "adds", "ns/api,ns/web,x/web", false);
	expect_slices_of(cache, "ns", "web", "web-a,web-b,web-c");
	expect_slices_of(cache, "x", "web", "web-z");
	expect_slices_of(cache, "ns", "none", "");
	assert_int_equal(kube_cache_foreach_slice_of(cache, "ns", "web", collect_slice, &c), 7);
	assert_int_equal(c.calls, 2);

	/* Unchanged slice: nothing marked. */
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "web-a", "web", "2", 2)), 0);
	expect_changes(cache, "same content", "", false);
	/* A changed endpoint marks the Service. */
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "web-a", "web", "3", 9)), 1);
	expect_changes(cache, "endpoint changed", "ns/web", false);
	expect_slices_of(cache, "ns", "web", "web-a,web-b,web-c");
	/* The label moves: both Services change, the index follows. */
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "web-b", "api", "4", 3)), 1);
	expect_changes(cache, "label moved", "ns/api,ns/web", false);
	expect_slices_of(cache, "ns", "web", "web-a,web-c");
	expect_slices_of(cache, "ns", "api", "api-a,web-b");
	/* A slice without the label serves nothing: no Service marked. */
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "orphan", NULL, "5", 7)), 1);
	expect_changes(cache, "orphan changed", "", false);

	assert_int_equal(kube_cache_delete_slice(cache, "ns", "web-c"), 1);
	assert_int_equal(kube_cache_delete_slice(cache, "ns", "web-c"), 0);
	expect_changes(cache, "slice deleted", "ns/web", false);
	expect_slices_of(cache, "ns", "web", "web-a");
	assert_int_equal(kube_cache_delete_slice(cache, "ns", "web-a"), 1);
	expect_slices_of(cache, "ns", "web", "");
	assert_int_equal(kube_cache_count_slices(cache), 4);
	kube_cache_free(cache);
}

static void test_node(void **state)
{
	struct kube_cache *cache = kube_cache_new();

	(void)state;
	/* No name configured: every Node is ignored. */
	assert_int_equal(kube_cache_put_node(cache, make_node("n1", "1", false)), 0);
	assert_null(kube_cache_get_node(cache));
	assert_int_equal(kube_cache_set_node_name(cache, "n1"), 0);
	assert_int_equal(kube_cache_put_node(cache, make_node("n2", "1", false)), 0);
	assert_null(kube_cache_get_node(cache));
	expect_changes(cache, "others ignored", "", false);
	assert_int_equal(kube_cache_put_node(cache, make_node("n1", "1", false)), 1);
	assert_string_equal(kube_cache_get_node(cache)->meta.name, "n1");
	expect_changes(cache, "node added", "", true);
	assert_int_equal(kube_cache_put_node(cache, make_node("n1", "2", false)), 0);
	expect_changes(cache, "node same", "", false);
	assert_int_equal(kube_cache_put_node(cache, make_node("n1", "3", true)), 1);
	assert_true(kube_cache_get_node(cache)->deleting);
	expect_changes(cache, "node deleting", "", true);
	assert_int_equal(kube_cache_delete_node(cache, "n2"), 0);
	assert_int_equal(kube_cache_delete_node(cache, "n1"), 1);
	assert_null(kube_cache_get_node(cache));
	expect_changes(cache, "node deleted", "", true);
	kube_cache_free(cache);
}

static int count_svc(const struct kube_service *svc, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

static void test_replace(void **state)
{
	struct kube_cache *cache = kube_cache_new();
	int n = 0;

	(void)state;
	assert_int_equal(kube_cache_set_node_name(cache, "n1"), 0);
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		assert_false(kube_cache_is_synced(cache, (enum kube_kind)k));
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "keep", "1", 80)), 1);
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "gone", "1", 80)), 1);
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "kept-unread", "1", 80)), 1);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "keep-1", "keep", "1", 1)), 1);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "gone-1", "gone", "1", 1)), 1);
	assert_int_equal(kube_cache_put_node(cache, make_node("n1", "1", false)), 1);
	expect_changes(cache, "setup", "ns/gone,ns/keep,ns/kept-unread", true);

	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		kube_cache_replace_begin(cache, (enum kube_kind)k);
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "keep", "1", 80)), 0);
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "new", "1", 80)), 1);
	assert_int_equal(kube_cache_mark_seen(cache, KUBE_KIND_SERVICE, "ns", "kept-unread"), 1);
	assert_int_equal(kube_cache_mark_seen(cache, KUBE_KIND_SERVICE, "ns", "absent"), 0);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "keep-1", "keep", "1", 1)), 0);
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		kube_cache_replace_end(cache, (enum kube_kind)k);

	assert_non_null(kube_cache_get_service(cache, "ns", "keep"));
	assert_non_null(kube_cache_get_service(cache, "ns", "kept-unread"));
	assert_non_null(kube_cache_get_service(cache, "ns", "new"));
	assert_null(kube_cache_get_service(cache, "ns", "gone"));
	assert_int_equal(kube_cache_count_slices(cache), 1);
	/* The Node was not in the list: gone. */
	assert_null(kube_cache_get_node(cache));
	expect_changes(cache, "after replace", "ns/gone,ns/new", true);
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		assert_true(kube_cache_is_synced(cache, (enum kube_kind)k));
	assert_int_equal(kube_cache_foreach_service(cache, count_svc, &n), 0);
	assert_int_equal(n, 3);

	/* replace_end without replace_begin does nothing. */
	kube_cache_replace_end(cache, KUBE_KIND_SERVICE);
	assert_int_equal(kube_cache_count_services(cache), 3);
	kube_cache_free(cache);
}

/*
 * kube_cache_replace_from (the streaming list's hand-over): the kind ends up holding exactly
 * what the staging cache held, the change set names what was added, changed or removed (and
 * nothing unchanged), other kinds are left alone, and the staging cache keeps nothing of the
 * kind.
 */
static void test_replace_from(void **state)
{
	struct kube_cache *cache = kube_cache_new();
	struct kube_cache *staging;
	const struct kube_service *got;

	(void)state;
	assert_int_equal(kube_cache_set_node_name(cache, "n1"), 0);
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "keep", "1", 80)), 1);
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "changed", "1", 80)), 1);
	assert_int_equal(kube_cache_put_service(cache, make_svc("ns", "gone", "1", 80)), 1);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "keep-1", "keep", "1", 1)), 1);
	assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", "gone-1", "gone", "1", 1)), 1);
	assert_int_equal(kube_cache_put_node(cache, make_node("n1", "1", false)), 1);
	expect_changes(cache, "setup", "ns/changed,ns/gone,ns/keep", true);

	/* The staging cache keeps the same Node as the cache, and only it. */
	staging = kube_cache_new_staging(cache);
	assert_non_null(staging);
	assert_int_equal(kube_cache_put_node(staging, make_node("n2", "2", false)), 0);
	assert_int_equal(kube_cache_put_node(staging, make_node("n1", "2", true)), 1);
	assert_int_equal(kube_cache_put_service(staging, make_svc("ns", "keep", "1", 80)), 1);
	assert_int_equal(kube_cache_put_service(staging, make_svc("ns", "changed", "2", 81)), 1);
	assert_int_equal(kube_cache_put_service(staging, make_svc("ns", "new", "2", 80)), 1);
	assert_int_equal(kube_cache_put_slice(staging, make_slice("ns", "keep-1", "keep", "1", 1)),
			 1);
	/* Filling the staging cache changes nothing in the cache. */
	expect_changes(cache, "staged", "", false);
	assert_int_equal(kube_cache_count_services(cache), 3);
	assert_false(kube_cache_is_synced(cache, KUBE_KIND_SERVICE));

	assert_int_equal(kube_cache_replace_from(cache, staging, KUBE_KIND_SERVICE), 0);
	assert_int_equal(kube_cache_count_services(cache), 3);
	assert_non_null(kube_cache_get_service(cache, "ns", "keep"));
	assert_non_null(kube_cache_get_service(cache, "ns", "new"));
	assert_null(kube_cache_get_service(cache, "ns", "gone"));
	got = kube_cache_get_service(cache, "ns", "changed");
	assert_non_null(got);
	assert_string_equal(got->meta.resource_version, "2");
	assert_int_equal(got->ports[0].port, 81);
	expect_changes(cache, "services replaced", "ns/changed,ns/gone,ns/new", false);
	assert_int_equal(kube_cache_count_services(staging), 0);
	assert_true(kube_cache_is_synced(cache, KUBE_KIND_SERVICE));
	/* Only that kind: the slice of the vanished Service is still there, slices not synced. */
	assert_int_equal(kube_cache_count_slices(cache), 2);
	assert_false(kube_cache_is_synced(cache, KUBE_KIND_ENDPOINT_SLICE));

	assert_int_equal(kube_cache_replace_from(cache, staging, KUBE_KIND_ENDPOINT_SLICE), 0);
	assert_int_equal(kube_cache_count_slices(cache), 1);
	expect_slices_of(cache, "ns", "keep", "keep-1");
	expect_slices_of(cache, "ns", "gone", "");
	expect_changes(cache, "slices replaced", "ns/gone", false);
	assert_int_equal(kube_cache_count_slices(staging), 0);
	assert_true(kube_cache_is_synced(cache, KUBE_KIND_ENDPOINT_SLICE));

	assert_int_equal(kube_cache_replace_from(cache, staging, KUBE_KIND_NODE), 0);
	assert_non_null(kube_cache_get_node(cache));
	assert_string_equal(kube_cache_get_node(cache)->meta.resource_version, "2");
	assert_true(kube_cache_get_node(cache)->deleting);
	assert_null(kube_cache_get_node(staging));
	expect_changes(cache, "node replaced", "", true);
	assert_true(kube_cache_is_synced(cache, KUBE_KIND_NODE));

	/* An empty staging cache: the kind is emptied, each object reported. */
	assert_int_equal(kube_cache_replace_from(cache, staging, KUBE_KIND_SERVICE), 0);
	assert_int_equal(kube_cache_count_services(cache), 0);
	expect_changes(cache, "emptied", "ns/changed,ns/keep,ns/new", false);
	assert_int_equal(kube_cache_replace_from(cache, staging, KUBE_KIND_NODE), 0);
	assert_null(kube_cache_get_node(cache));
	expect_changes(cache, "node gone", "", true);
	kube_cache_free(staging);
	kube_cache_free(cache);
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(kube_kind_to_string(KUBE_KIND_SERVICE), "Service");
	assert_string_equal(kube_kind_to_string(KUBE_KIND_ENDPOINT_SLICE), "EndpointSlice");
	assert_string_equal(kube_kind_to_string(KUBE_KIND_NODE), "Node");
}

/* Many Services and slices: lookups and per-Service iteration stay exact. */
static void test_many(void **state)
{
	struct kube_cache *cache = kube_cache_new();
	char name[32], sname[40];
	char **keys;
	size_t n;
	bool node;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "svc-%04d", i);
		assert_int_equal(kube_cache_put_service(cache, make_svc("ns", name, "1", 80)), 1);
		for (int j = 0; j < 3; j++) {
			snprintf(sname, sizeof(sname), "%s-%d", name, j);
			assert_int_equal(kube_cache_put_slice(cache, make_slice("ns", sname, name,
										"1", (uint8_t)j)),
					 1);
		}
	}
	assert_int_equal(kube_cache_take_changes(cache, &keys, &n, &node), 0);
	assert_int_equal(n, 2000);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(keys[i - 1], keys[i]) < 0);
	kube_cache_changes_free(keys, n);
	expect_slices_of(cache, "ns", "svc-1234", "svc-1234-0,svc-1234-1,svc-1234-2");
	assert_int_equal(kube_cache_count_slices(cache), 6000);
	kube_cache_free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_put_delete),
		cmocka_unit_test(test_slices_mark_their_service),
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_replace_from),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
