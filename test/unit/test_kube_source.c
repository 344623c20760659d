/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/kube_source.c: the one-shot load (directories, single files, JSON and
 * YAML, the proxy-name filter, broken files) and the watched mode driven through a real libev
 * loop and inotify on a temporary directory: write, rename-replace, a half-written file,
 * delete, and a ConfigMap-style ..data symlink swap. Reloads: what is logged once per change
 * (unchanged files are not decoded again), and the same object in two files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "kube_cache.h"
#include "kube_model.h"
#include "kube_source.h"
#include "log.h"

static char tmpdir[256];

static int setup_dir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/kipvs-source-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	(void)state;
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	(void)state;
	return 0;
}

static void write_raw(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Writes name in the temp dir: in place, or to a temporary name and renamed over it. */
static void write_file(const char *name, const char *text, bool by_rename)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (!by_rename) {
		write_raw(path, text);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", tmpdir, name);
	write_raw(tmp, text);
	assert_int_equal(rename(tmp, path), 0);
}

static const char *svc_json(char *buf, size_t size, const char *name, int port,
			    const char *labels)
{
	snprintf(buf, size,
		 "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"ns\",\"labels\":{%s}},\"spec\":{\"clusterIP\":\"10.96.0.1\","
		 "\"ports\":[{\"port\":%d}]}}",
		 name, labels, port);
	return buf;
}

static char *take_changes(struct kube_cache *cache, bool *ret_node)
{
	static char got[1024];
	char **keys;
	size_t n;

	got[0] = '\0';
	assert_int_equal(kube_cache_take_changes(cache, &keys, &n, ret_node), 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(got, ",");
		strcat(got, keys[i]);
	}
	kube_cache_changes_free(keys, n);
	return got;
}

static void test_load_fixture_dir(void **state)
{
	const char *fixtures = getenv("KIPVS_FIXTURES");
	struct kube_cache *cache = kube_cache_new();
	const struct kube_service *svc;
	char path[PATH_MAX];
	bool node;

	(void)state;
	if (!fixtures)
		fail_msg("KIPVS_FIXTURES is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/kube", fixtures);
	assert_int_equal(kube_cache_set_node_name(cache, "node-a"), 0);
	/* services.json: Service, slice, Node; manifests.yaml: Service, slice (+ a Deployment). */
	assert_int_equal(kube_source_load(cache, path, NULL), 5);
	assert_int_equal(kube_cache_count_services(cache), 2);
	assert_int_equal(kube_cache_count_slices(cache), 2);
	assert_non_null(kube_cache_get_node(cache));
	svc = kube_cache_get_service(cache, "shop", "api");
	assert_non_null(svc);
	assert_int_equal(svc->ports[0].port, 443);
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		assert_true(kube_cache_is_synced(cache, (enum kube_kind)k));
	assert_string_equal(take_changes(cache, &node), "default/web,shop/api");
	assert_true(node);
	/* Loading the same files again changes nothing. */
	assert_int_equal(kube_source_load(cache, path, NULL), 5);
	assert_string_equal(take_changes(cache, &node), "");
	assert_false(node);
	kube_cache_free(cache);
}

static void test_load_cases(void **state)
{
	static const struct {
		const char *name;
		const char *file;
		const char *text;
		const char *proxy_name;
		int rc;
		size_t services;
	} cases[] = {
		{"single YAML file", "one.yaml",
		 "kind: Service\nmetadata: {name: a, namespace: ns}\nspec: {clusterIP: 10.0.0.1}\n"
		 "---\nkind: Service\nmetadata: {name: b}\n",
		 NULL, 2, 2},
		{"yml extension", "one.yml", "kind: Service\nmetadata: {name: a}\n", NULL, 1, 1},
		{"other proxy's Service is left out", "p.json",
		 "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\",\"labels\":{"
		 "\"service.kubernetes.io/service-proxy-name\":\"other\"}}}",
		 NULL, 0, 0},
		{"our proxy's Service is kept", "p.json",
		 "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\",\"labels\":{"
		 "\"service.kubernetes.io/service-proxy-name\":\"other\"}}}",
		 "other", 1, 1},
		{"headless label is left out", "h.json",
		 "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\",\"labels\":{"
		 "\"service.kubernetes.io/headless\":\"\"}}}",
		 NULL, 0, 0},
		{"broken JSON", "bad.json", "{\"kind\":\"Service\",", NULL, -EBADMSG, 0},
		{"broken YAML", "bad.yaml", "kind: [Service\n", NULL, -EBADMSG, 0},
		{"empty YAML file", "empty.yaml", "", NULL, 0, 0},
		{"rejected object", "r.json", "{\"kind\":\"Service\",\"metadata\":{}}", NULL, 0, 0},
		/* JSON lists are decoded an item at a time (kube_manifest.c). */
		{"list, one item rejected", "l.json",
		 "{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\",\"metadata\":{\"name\":"
		 "\"a\"}},{\"kind\":\"Service\",\"metadata\":{}},{\"kind\":\"Service\","
		 "\"metadata\":{\"name\":\"b\",\"annotations\":{\"x\":\"}]{\\\"\"}}}]}",
		 NULL, 2, 2},
		{"ServiceList items carry no kind, kind after items", "l.json",
		 "{\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}],"
		 "\"kind\":\"ServiceList\",\"metadata\":{\"resourceVersion\":\"7\"}}",
		 NULL, 2, 2},
		{"list of another kind", "l.json",
		 "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\"}}]}", NULL, 0, 0},
		{"list items not an array", "l.json", "{\"kind\":\"List\",\"items\":{}}", NULL, 0, 0},
		{"an object with an items member", "o.json",
		 "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},\"items\":[1]}", NULL, 1, 1},
		{"two JSON documents in one file", "two.json",
		 "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}\n"
		 "{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\",\"metadata\":{\"name\":\"b\"}}]}",
		 NULL, 2, 2},
		{"garbage after the list", "g.json",
		 "{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\",\"metadata\":{\"name\":"
		 "\"a\"}}]}\n}",
		 NULL, -EBADMSG, 0},
		{"list cut short", "t.json",
		 "{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\",\"metadata\":{\"name\":"
		 "\"a\"}},{\"kind\":",
		 NULL, -EBADMSG, 0},
		{"empty JSON file", "empty.json", "", NULL, -EBADMSG, 0},
		/* YAML lists are converted an item at a time; kubectl writes kind after items. */
		{"YAML List, kind after items", "l.yaml",
		 "apiVersion: v1\nitems:\n- kind: Service\n  metadata: {name: a}\n"
		 "- kind: Deployment\n  metadata: {name: d}\n- kind: Service\n"
		 "  metadata: {name: b}\nkind: List\nmetadata: {resourceVersion: \"\"}\n",
		 NULL, 2, 2},
		{"YAML ServiceList, items without kind", "l.yaml",
		 "items:\n- metadata: {name: a}\n- metadata: {name: b}\n- metadata: {}\n"
		 "kind: ServiceList\n",
		 NULL, 2, 2},
		{"YAML list, an alias to another item's anchor", "l.yaml",
		 "kind: ServiceList\nitems:\n- metadata: {name: a, labels: &l {x: y}}\n"
		 "- metadata: {name: b, labels: *l}\n",
		 NULL, 2, 2},
		{"YAML list of another kind", "l.yaml", "kind: PodList\nitems:\n- metadata: {name: a}\n",
		 NULL, 0, 0},
		{"YAML list items not a sequence", "l.yaml", "kind: List\nitems: {a: 1}\n", NULL, 0, 0},
		{"YAML object with items", "o.yaml", "kind: Service\nmetadata: {name: a}\nitems: [1]\n",
		 NULL, 1, 1},
		{"YAML list then a document", "l.yaml",
		 "kind: List\nitems:\n- {kind: Service, metadata: {name: a}}\n---\n"
		 "kind: Service\nmetadata: {name: b}\n",
		 NULL, 2, 2},
		{"YAML list, broken later", "l.yaml",
		 "kind: List\nitems:\n- {kind: Service, metadata: {name: a}}\n---\na: [\n",
		 NULL, -EBADMSG, 0},
	};
	FILE *devnull = fopen("/dev/null", "we");

	(void)state;
	log_set_stream(devnull);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_cache *cache = kube_cache_new();
		char path[PATH_MAX];
		int r;

		snprintf(path, sizeof(path), "%s/%s", tmpdir, cases[i].file);
		write_raw(path, cases[i].text);
		r = kube_source_load(cache, path, cases[i].proxy_name);
		if (r != cases[i].rc || kube_cache_count_services(cache) != cases[i].services)
			fail_msg("case %s: returned %d with %zu services, want %d and %zu",
				 cases[i].name, r, kube_cache_count_services(cache), cases[i].rc,
				 cases[i].services);
		kube_cache_free(cache);
		assert_int_equal(unlink(path), 0);
	}
	log_set_stream(NULL);
	fclose(devnull);
}

static void test_load_dir_with_broken_file(void **state)
{
	struct kube_cache *cache = kube_cache_new();
	char buf[512], path[PATH_MAX];
	FILE *devnull = fopen("/dev/null", "we");

	(void)state;
	log_set_stream(devnull);
	write_file("a.json", svc_json(buf, sizeof(buf), "a", 80, ""), false);
	write_file("b.json", "{ not json", false);
	write_file("notes.txt", "ignored", false);
	write_file(".hidden.json", svc_json(buf, sizeof(buf), "hidden", 80, ""), false);
	assert_int_equal(kube_source_load(cache, tmpdir, NULL), -EBADMSG);
	assert_int_equal(kube_cache_count_services(cache), 1);
	assert_non_null(kube_cache_get_service(cache, "ns", "a"));
	/* A missing path: an error, and nothing touched. */
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(kube_source_load(cache, path, NULL), -ENOENT);
	assert_int_equal(kube_cache_count_services(cache), 1);
	log_set_stream(NULL);
	fclose(devnull);
	kube_cache_free(cache);
	for (const char *const *n = (const char *const[]){"a.json", "b.json", "notes.txt",
							   ".hidden.json", NULL};
	     *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, *n);
		assert_int_equal(unlink(path), 0);
	}
}

/*
 * A file that does not parse is checked whole before anything in it is decoded: its objects
 * are kept, and the only line is the file's own (no line about an item before the error).
 */
static void test_load_broken_list_is_quiet(void **state)
{
	static const char *const cases[] = {
		"{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\",\"metadata\":{}},"
		"{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}} x ]}",
		"{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\",\"metadata\":{}},",
	};
	char path[PATH_MAX], line[1024];

	(void)state;
	snprintf(path, sizeof(path), "%s/broken.json", tmpdir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_cache *cache = kube_cache_new();
		FILE *log = tmpfile();
		int lines = 0, own = 0;

		assert_non_null(log);
		log_set_stream(log);
		write_raw(path, cases[i]);
		assert_int_equal(kube_source_load(cache, path, NULL), -EBADMSG);
		log_set_stream(NULL);
		rewind(log);
		while (fgets(line, sizeof(line), log)) {
			lines++;
			own += strstr(line, "msg=\"file not read, keeping its objects\"") &&
			       strstr(line, "not valid JSON");
		}
		fclose(log);
		if (lines != 1 || own != 1)
			fail_msg("case %zu: %d lines, %d of them the file's, want 1 and 1", i, lines,
				 own);
		kube_cache_free(cache);
	}
	assert_int_equal(unlink(path), 0);
}

struct watch_fixture {
	struct ev_loop *loop;
	struct kube_cache *cache;
	struct kube_source *src;
	ev_timer tick;
	int calls;
};

static void on_changed(struct kube_source *src, void *userdata)
{
	((struct watch_fixture *)userdata)->calls++;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
}

/* Runs the loop until the source has re-read `want` times in all (at most ~5 s). */
static void wait_calls(struct watch_fixture *fx, int want, const char *step)
{
	for (int i = 0; i < 200 && fx->calls < want; i++)
		ev_run(fx->loop, EVRUN_ONCE);
	if (fx->calls < want)
		fail_msg("step %s: no re-read seen (%d of %d)", step, fx->calls, want);
}

/* Runs the loop for about 0.4 s more, so that a second pending pass also happens. */
static void settle(struct watch_fixture *fx)
{
	ev_tstamp end = ev_time() + 0.4;

	while (ev_time() < end)
		ev_run(fx->loop, EVRUN_ONCE);
}

static void test_watch(void **state)
{
	struct watch_fixture fx = {0};
	char buf[512], path[PATH_MAX], target[PATH_MAX];
	FILE *devnull = fopen("/dev/null", "we");
	bool node;
	int calls;

	(void)state;
	log_set_stream(devnull);
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	fx.cache = kube_cache_new();
	ev_timer_init(&fx.tick, on_tick, 0.025, 0.025);
	ev_timer_start(fx.loop, &fx.tick);
	write_file("a.json", svc_json(buf, sizeof(buf), "a", 80, ""), false);
	assert_int_equal(kube_source_new(fx.loop, fx.cache, tmpdir, NULL, on_changed, &fx, &fx.src),
			 0);
	assert_int_equal(kube_source_start(fx.src), 1);
	assert_int_equal(fx.calls, 1);
	assert_string_equal(take_changes(fx.cache, &node), "ns/a");

	/* A new file, written in place. */
	write_file("b.json", svc_json(buf, sizeof(buf), "b", 80, ""), false);
	wait_calls(&fx, 2, "new file");
	assert_string_equal(take_changes(fx.cache, &node), "ns/b");

	/* Replace by rename, as editors do: the change is seen and only b is marked. */
	calls = fx.calls;
	write_file("b.json", svc_json(buf, sizeof(buf), "b", 81, ""), true);
	wait_calls(&fx, calls + 1, "rename-replace");
	assert_int_equal(kube_cache_get_service(fx.cache, "ns", "b")->ports[0].port, 81);
	assert_string_equal(take_changes(fx.cache, &node), "ns/b");

	/*
	 * Only the files inotify names are read again: a.json changed through a hard link outside
	 * the directory (no event names it) keeps what it gave while b.json changes; a full
	 * reload reads it.
	 */
	snprintf(path, sizeof(path), "%s/a.json", tmpdir);
	snprintf(target, sizeof(target), "%s.a-link", tmpdir);
	assert_int_equal(link(path, target), 0);
	write_raw(target, svc_json(buf, sizeof(buf), "a", 99, ""));
	settle(&fx);
	(void)take_changes(fx.cache, &node);
	calls = fx.calls;
	write_file("b.json", svc_json(buf, sizeof(buf), "b", 83, ""), true);
	wait_calls(&fx, calls + 1, "one file named");
	assert_int_equal(kube_cache_get_service(fx.cache, "ns", "b")->ports[0].port, 83);
	assert_int_equal(kube_cache_get_service(fx.cache, "ns", "a")->ports[0].port, 80);
	assert_string_equal(take_changes(fx.cache, &node), "ns/b");
	assert_true(kube_source_reload(fx.src) >= 0);
	assert_int_equal(kube_cache_get_service(fx.cache, "ns", "a")->ports[0].port, 99);
	assert_string_equal(take_changes(fx.cache, &node), "ns/a");
	assert_int_equal(unlink(target), 0);

	/* A half-written file keeps what it gave; the other file still applies. */
	calls = fx.calls;
	write_file("b.json", "{\"kind\":\"Service\",\"metadata\":{\"na", false);
	write_file("a.json", svc_json(buf, sizeof(buf), "a", 82, ""), true);
	wait_calls(&fx, calls + 1, "half-written");
	settle(&fx); /* the two writes may land in two passes */
	assert_non_null(kube_cache_get_service(fx.cache, "ns", "b"));
	assert_int_equal(kube_cache_get_service(fx.cache, "ns", "a")->ports[0].port, 82);
	assert_string_equal(take_changes(fx.cache, &node), "ns/a");

	/* The file is completed: the Service is relabelled for another proxy, so it goes. */
	calls = fx.calls;
	write_file("b.json",
		   svc_json(buf, sizeof(buf), "b", 81,
			    "\"service.kubernetes.io/service-proxy-name\":\"other\""),
		   true);
	wait_calls(&fx, calls + 1, "relabelled");
	assert_null(kube_cache_get_service(fx.cache, "ns", "b"));
	assert_string_equal(take_changes(fx.cache, &node), "ns/b");

	/* Delete a file: its objects go. */
	calls = fx.calls;
	snprintf(path, sizeof(path), "%s/a.json", tmpdir);
	assert_int_equal(unlink(path), 0);
	wait_calls(&fx, calls + 1, "delete");
	assert_null(kube_cache_get_service(fx.cache, "ns", "a"));
	assert_string_equal(take_changes(fx.cache, &node), "ns/a");

	/* A ConfigMap mount: c.json -> ..data/c.json, and ..data is swapped by rename. */
	calls = fx.calls;
	snprintf(path, sizeof(path), "%s/..v1", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/..v1/c.json", tmpdir);
	write_raw(path, svc_json(buf, sizeof(buf), "c", 80, ""));
	snprintf(path, sizeof(path), "%s/..data", tmpdir);
	assert_int_equal(symlink("..v1", path), 0);
	snprintf(path, sizeof(path), "%s/c.json", tmpdir);
	assert_int_equal(symlink("..data/c.json", path), 0);
	wait_calls(&fx, calls + 1, "configmap first");
	settle(&fx);
	assert_int_equal(kube_cache_get_service(fx.cache, "ns", "c")->ports[0].port, 80);
	(void)take_changes(fx.cache, &node);

	calls = fx.calls;
	snprintf(path, sizeof(path), "%s/..v2", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/..v2/c.json", tmpdir);
	write_raw(path, svc_json(buf, sizeof(buf), "c", 90, ""));
	snprintf(path, sizeof(path), "%s/..data_tmp", tmpdir);
	assert_int_equal(symlink("..v2", path), 0);
	snprintf(target, sizeof(target), "%s/..data", tmpdir);
	assert_int_equal(rename(path, target), 0);
	wait_calls(&fx, calls + 1, "configmap swap");
	assert_int_equal(kube_cache_get_service(fx.cache, "ns", "c")->ports[0].port, 90);
	assert_string_equal(take_changes(fx.cache, &node), "ns/c");

	fx.src = kube_source_free(fx.src);
	assert_null(fx.src);
	assert_null(kube_source_free(NULL));
	ev_timer_stop(fx.loop, &fx.tick);
	ev_loop_destroy(fx.loop);
	kube_cache_free(fx.cache);
	log_set_stream(NULL);
	fclose(devnull);
}

/* The log lines captured since the last call, for counting. */
struct log_capture {
	char *text;
	size_t len;
	FILE *stream;
};

static void capture_start(struct log_capture *c)
{
	c->stream = open_memstream(&c->text, &c->len);
	assert_non_null(c->stream);
	log_set_stream(c->stream);
}

/* Lines containing needle since capture_start() or the last capture_count(). */
static int capture_count(struct log_capture *c, const char *needle)
{
	int n = 0;

	assert_int_equal(fflush(c->stream), 0);
	for (const char *p = c->text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void capture_reset(struct log_capture *c)
{
	log_set_stream(NULL);
	fclose(c->stream);
	free(c->text);
	capture_start(c);
}

static void capture_stop(struct log_capture *c)
{
	log_set_stream(NULL);
	fclose(c->stream);
	free(c->text);
	*c = (struct log_capture){0};
}

#define OTHER_PROXY "\"service.kubernetes.io/service-proxy-name\":\"other\""
#define LIST(items) "{\"kind\":\"List\",\"items\":[" items "]}"
#define BAD_PORT_SVC                                                                               \
	"{\"kind\":\"Service\",\"metadata\":{\"name\":\"badport\",\"namespace\":\"ns\"},"         \
	"\"spec\":{\"clusterIP\":\"10.96.0.2\",\"ports\":[{\"port\":80},{\"port\":70000}]}}"

/*
 * Reloads (the daemon's --from re-read) report a dropped field, a Service another proxy owns
 * and a file that does not parse once per change, not on every re-read of unchanged files.
 */
static void test_reload_logs_once(void **state)
{
	static const struct {
		const char *name; /* the step */
		const char *file; /* written before the reload (NULL: none) */
		const char *text;
		int rc; /* of the reload */
		int dropped, not_proxied, unparsed; /* lines logged by this reload */
	} steps[] = {
		{"first load", NULL, NULL, -EBADMSG, 1, 1, 1},
		{"nothing changed", NULL, NULL, -EBADMSG, 0, 0, 0},
		{"an unrelated file changes", "c.json", "{\"kind\":\"Service\",\"metadata\":"
							"{\"name\":\"c\",\"namespace\":\"ns\"}}",
		 -EBADMSG, 0, 0, 0},
		/* b.json is rewritten with one more Service: "theirs" is unchanged, so quiet. */
		{"the file of the dropped Service changes", "b.json",
		 LIST("{\"kind\":\"Service\",\"metadata\":{\"name\":\"theirs\",\"namespace\":"
		      "\"ns\",\"labels\":{" OTHER_PROXY "}}},{\"kind\":\"Service\",\"metadata\":"
		      "{\"name\":\"second\",\"namespace\":\"ns\"}}"),
		 -EBADMSG, 0, 0, 0},
		{"the dropped Service changes its reason", "b.json",
		 "{\"kind\":\"Service\",\"metadata\":{\"name\":\"theirs\",\"namespace\":\"ns\","
		 "\"labels\":{\"service.kubernetes.io/headless\":\"\"}}}",
		 -EBADMSG, 0, 1, 0},
		{"the broken file is fixed", "d.json", "{\"kind\":\"Service\",\"metadata\":"
						       "{\"name\":\"d\",\"namespace\":\"ns\"}}",
		 3, 0, 0, 0},
		{"the bad field's file is touched but equal", "a.json", BAD_PORT_SVC, 3, 0, 0, 0},
		{"the bad field's file changes", "a.json",
		 LIST(BAD_PORT_SVC ",{\"kind\":\"Service\",\"metadata\":{\"name\":\"e\","
				   "\"namespace\":\"ns\"}}"),
		 4, 1, 0, 0},
	};
	struct kube_cache *cache = kube_cache_new();
	struct kube_source *src = NULL;
	struct log_capture cap = {0};
	char path[PATH_MAX];

	(void)state;
	write_file("a.json", BAD_PORT_SVC, false);
	write_file("b.json",
		   "{\"kind\":\"Service\",\"metadata\":{\"name\":\"theirs\",\"namespace\":\"ns\","
		   "\"labels\":{" OTHER_PROXY "}}}",
		   false);
	write_file("d.json", "{\"kind\":\"Service\",", false);
	assert_int_equal(kube_source_new(NULL, cache, tmpdir, NULL, NULL, NULL, &src), 0);
	capture_start(&cap);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int r, dropped, not_proxied, unparsed;

		if (steps[i].file)
			write_file(steps[i].file, steps[i].text, true);
		r = kube_source_reload(src);
		dropped = capture_count(&cap, "msg=\"dropped field\"");
		not_proxied = capture_count(&cap, "msg=\"service not proxied\" svc=ns/theirs ");
		unparsed = capture_count(&cap, "msg=\"file not read, keeping its objects\"");
		if (r != steps[i].rc || dropped != steps[i].dropped ||
		    not_proxied != steps[i].not_proxied || unparsed != steps[i].unparsed)
			fail_msg("step %s: returned %d, logged %d dropped field, %d not proxied, "
				 "%d unparsed; want %d, %d, %d, %d; log:\n%s",
				 steps[i].name, r, dropped, not_proxied, unparsed, steps[i].rc,
				 steps[i].dropped, steps[i].not_proxied, steps[i].unparsed,
				 cap.text);
		capture_reset(&cap);
	}
	/* Whatever was skipped, the cache holds every usable Service. */
	assert_int_equal(kube_cache_count_services(cache), 4);
	assert_null(kube_cache_get_service(cache, "ns", "theirs"));
	assert_non_null(kube_cache_get_service(cache, "ns", "e"));
	capture_stop(&cap);
	kube_source_free(src);
	kube_cache_free(cache);
	for (const char *const *n = (const char *const[]){"a.json", "b.json", "c.json", "d.json",
							   NULL};
	     *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, *n);
		assert_int_equal(unlink(path), 0);
	}
}

/* A Service whose second port does not decode (each decode logs a dropped field). */
#define BAD_SVC(name, port)                                                                        \
	"{\"kind\":\"Service\",\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\"},"        \
	"\"spec\":{\"clusterIP\":\"10.96.0.2\",\"ports\":[{\"port\":" port "},{\"port\":70000}]}}"

/*
 * A changed list file is decoded item by item, and only its changed items: an item whose text
 * is as last time is kept as cached without decoding (it logs nothing again), a changed one is
 * decoded, a removed one deleted.
 */
static void test_reload_changed_items_only(void **state)
{
	static const struct {
		const char *name;
		const char *text;
		int dropped; /* items decoded (each logs one dropped field) */
		const char *changes;
	} steps[] = {
		{"first load", LIST(BAD_SVC("a", "80") "," BAD_SVC("b", "80") "," BAD_SVC("c", "80")),
		 3, "ns/a,ns/b,ns/c"},
		{"b changes", LIST(BAD_SVC("a", "80") "," BAD_SVC("b", "81") "," BAD_SVC("c", "80")),
		 1, "ns/b"},
		{"c goes, d comes", LIST(BAD_SVC("a", "80") "," BAD_SVC("b", "81") "," BAD_SVC("d", "80")),
		 1, "ns/c,ns/d"},
		{"reordered", LIST(BAD_SVC("d", "80") "," BAD_SVC("a", "80") "," BAD_SVC("b", "81")),
		 0, ""},
		{"another list kind", "{\"kind\":\"ServiceList\",\"items\":[" BAD_SVC("a", "80") "]}",
		 1, "ns/b,ns/d"},
	};
	struct kube_cache *cache = kube_cache_new();
	struct kube_source *src = NULL;
	struct log_capture cap = {0};
	char path[PATH_MAX];
	bool node;

	(void)state;
	write_file("s.json", steps[0].text, false);
	capture_start(&cap);
	assert_int_equal(kube_source_new(NULL, cache, tmpdir, NULL, NULL, NULL, &src), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int dropped;
		const char *got;

		if (i > 0)
			write_file("s.json", steps[i].text, true);
		assert_true(kube_source_reload(src) >= 0);
		dropped = capture_count(&cap, "msg=\"dropped field\"");
		got = take_changes(cache, &node);
		if (dropped != steps[i].dropped || strcmp(got, steps[i].changes) != 0)
			fail_msg("step %s: %d items decoded, changes \"%s\"; want %d, \"%s\"; log:\n%s",
				 steps[i].name, dropped, got, steps[i].dropped, steps[i].changes,
				 cap.text);
		capture_reset(&cap);
	}
	assert_int_equal(kube_cache_count_services(cache), 1);
	assert_int_equal(kube_cache_get_service(cache, "ns", "a")->n_ports, 1);
	capture_stop(&cap);
	kube_source_free(src);
	kube_cache_free(cache);
	snprintf(path, sizeof(path), "%s/s.json", tmpdir);
	assert_int_equal(unlink(path), 0);
}

#define SVC(name, port)                                                                            \
	"{\"kind\":\"Service\",\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\"},"        \
	"\"spec\":{\"clusterIP\":\"10.96.0.4\",\"ports\":[{\"port\":" port "}]}}"

struct same_ports {
	const struct kube_cache *other;
	int differ;
};

static int same_port(const struct kube_service *svc, void *userdata)
{
	struct same_ports *s = userdata;
	const struct kube_service *o =
	    kube_cache_get_service(s->other, svc->meta.namespace, svc->meta.name);

	s->differ += !o || o->n_ports != svc->n_ports || o->ports[0].port != svc->ports[0].port;
	return 0;
}

/*
 * A pass over a few changed files applies only their change (objects moved between two
 * changed files, changed, gone with their file, given twice and then once again); after each,
 * the cache holds exactly what a fresh load of the directory gives, and the change set names
 * exactly what changed.
 */
static void test_reload_patch_equals_full_load(void **state)
{
	static const struct {
		const char *name;
		const char *a, *b, *c; /* the files' new text; NULL: as it was; "": removed */
		const char *changes;
	} steps[] = {
		{"first load", LIST(SVC("s1", "80") "," SVC("s2", "80")), LIST(SVC("s3", "80")), NULL,
		 "ns/s1,ns/s2,ns/s3"},
		{"s2 moves from a to b", LIST(SVC("s1", "80")), LIST(SVC("s2", "80") "," SVC("s3", "80")),
		 NULL, ""},
		{"s1 changes, s3 goes", LIST(SVC("s1", "81")), LIST(SVC("s2", "80")), NULL,
		 "ns/s1,ns/s3"},
		{"b goes", NULL, "", NULL, "ns/s2"},
		{"c gives s1 too, and wins", NULL, NULL, LIST(SVC("s1", "90")), "ns/s1"},
		{"c goes: a's s1 is back", NULL, NULL, "", "ns/s1"},
		{"s4 comes in a new b", NULL, LIST(SVC("s4", "80")), NULL, "ns/s4"},
	};
	struct kube_cache *cache = kube_cache_new();
	struct kube_source *src = NULL;
	struct log_capture cap = {0};
	char path[PATH_MAX];
	bool node;

	(void)state;
	capture_start(&cap);
	assert_int_equal(kube_source_new(NULL, cache, tmpdir, NULL, NULL, NULL, &src), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const char *texts[] = {steps[i].a, steps[i].b, steps[i].c};
		struct kube_cache *fresh = kube_cache_new();
		struct same_ports cmp = {.other = fresh};
		const char *got;

		for (size_t f = 0; f < 3; f++) {
			char name[] = {(char)('a' + f), '.', 'j', 's', 'o', 'n', '\0'};

			snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
			if (texts[f] && *texts[f])
				write_file(name, texts[f], true);
			else if (texts[f])
				assert_int_equal(unlink(path), 0);
		}
		assert_true(kube_source_reload(src) >= 0);
		got = take_changes(cache, &node);
		if (strcmp(got, steps[i].changes) != 0)
			fail_msg("step %s: changes \"%s\", want \"%s\"; log:\n%s", steps[i].name, got,
				 steps[i].changes, cap.text);
		assert_true(kube_source_load(fresh, tmpdir, NULL) >= 0);
		assert_int_equal(kube_cache_foreach_service(cache, same_port, &cmp), 0);
		if (cmp.differ || kube_cache_count_services(cache) != kube_cache_count_services(fresh))
			fail_msg("step %s: %zu Services cached (%d differ from a fresh load of %zu)",
				 steps[i].name, kube_cache_count_services(cache), cmp.differ,
				 kube_cache_count_services(fresh));
		kube_cache_free(fresh);
	}
	assert_int_equal(kube_cache_get_service(cache, "ns", "s1")->ports[0].port, 81);
	capture_stop(&cap);
	kube_source_free(src);
	kube_cache_free(cache);
	for (const char *const *n = (const char *const[]){"a.json", "b.json", NULL}; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, *n);
		assert_int_equal(unlink(path), 0);
	}
}

/* The warn line for an object two places give, winner and loser as file names in tmpdir. */
#define TWICE "msg=\"object given twice, the later one is used\" kind=Service "

static void twice_line(char *buf, size_t size, const char *name, const char *file,
		       const char *over, const char *reason)
{
	snprintf(buf, size, TWICE "svc=ns/%s file=%s/%s over=%s/%s reason=\"%s\"", name, tmpdir,
		 file, tmpdir, over, reason);
}

/*
 * Two files giving the same Service: the file last in name order wins, as on a full re-read,
 * even when only one of them changed (unchanged files are not decoded again). Each pass says
 * which file won over which; one file giving a Service twice keeps the later copy, and says so.
 */
static void test_reload_duplicate_across_files(void **state)
{
	static const struct {
		const char *name;
		const char *file; /* rewritten before the reload; NULL: removed is `gone` */
		int port; /* of the Service it gives */
		const char *gone; /* a file deleted before the reload, or NULL */
		int want_port; /* the cached Service's port after the reload */
		int want_lines; /* "given twice" lines this reload logs */
		const char *won, *lost; /* files of one of those lines (NULL: none) */
	} steps[] = {
		{"first load: b wins", NULL, 0, NULL, 82, 1, "b.json", "a.json"},
		{"a changes: b still wins", "a.json", 81, NULL, 82, 1, "b.json", "a.json"},
		{"b changes", "b.json", 83, NULL, 83, 1, "b.json", "a.json"},
		{"c appears later in order: c wins", "c.json", 84, NULL, 84, 2, "c.json", "b.json"},
		{"a changes again: c still wins", "a.json", 85, NULL, 84, 2, "c.json", "b.json"},
		{"c goes: b wins again", NULL, 0, "c.json", 83, 1, "b.json", "a.json"},
		{"b goes: a is left", NULL, 0, "b.json", 85, 0, NULL, NULL},
	};
	struct kube_cache *cache = kube_cache_new();
	struct kube_source *src = NULL;
	const struct kube_service *svc;
	struct log_capture cap = {0};
	char buf[512], path[PATH_MAX], want[3 * PATH_MAX];

	(void)state;
	write_file("a.json", svc_json(buf, sizeof(buf), "dup", 80, ""), false);
	write_file("b.json", svc_json(buf, sizeof(buf), "dup", 82, ""), false);
	capture_start(&cap);
	assert_int_equal(kube_source_new(NULL, cache, tmpdir, NULL, NULL, NULL, &src), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].file)
			write_file(steps[i].file,
				   svc_json(buf, sizeof(buf), "dup", steps[i].port, ""), true);
		if (steps[i].gone) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir, steps[i].gone);
			assert_int_equal(unlink(path), 0);
		}
		if (i > 0)
			capture_reset(&cap);
		if (kube_source_reload(src) < 0)
			fail_msg("step %s: reload failed", steps[i].name);
		svc = kube_cache_get_service(cache, "ns", "dup");
		if (!svc || svc->ports[0].port != steps[i].want_port)
			fail_msg("step %s: port %d, want %d", steps[i].name,
				 svc ? svc->ports[0].port : -1, steps[i].want_port);
		if (capture_count(&cap, TWICE) != steps[i].want_lines)
			fail_msg("step %s: %d 'given twice' lines, want %d; log:\n%s",
				 steps[i].name, capture_count(&cap, TWICE), steps[i].want_lines,
				 cap.text);
		if (!steps[i].won)
			continue;
		twice_line(want, sizeof(want), "dup", steps[i].won, steps[i].lost,
			   "later in file-name order");
		if (capture_count(&cap, want) != 1)
			fail_msg("step %s: no line '%s'; log:\n%s", steps[i].name, want, cap.text);
	}

	/* One file, one Service twice: the later copy is cached, and the line says why. */
	snprintf(buf, sizeof(buf),
		 LIST("{\"kind\":\"Service\",\"metadata\":{\"name\":\"twin\",\"namespace\":"
		      "\"ns\"},\"spec\":{\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"port\":90}]}},"
		      "{\"kind\":\"Service\",\"metadata\":{\"name\":\"twin\",\"namespace\":"
		      "\"ns\"},\"spec\":{\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"port\":91}]}}"));
	write_file("e.json", buf, true);
	capture_reset(&cap);
	assert_true(kube_source_reload(src) >= 0);
	svc = kube_cache_get_service(cache, "ns", "twin");
	assert_non_null(svc);
	assert_int_equal(svc->ports[0].port, 91);
	twice_line(want, sizeof(want), "twin", "e.json", "e.json", "later in the same file");
	if (capture_count(&cap, want) != 1)
		fail_msg("no line '%s'; log:\n%s", want, cap.text);

	capture_stop(&cap);
	kube_source_free(src);
	kube_cache_free(cache);
	for (const char *const *n = (const char *const[]){"a.json", "e.json", NULL}; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, *n);
		assert_int_equal(unlink(path), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_fixture_dir),
		cmocka_unit_test_setup_teardown(test_load_cases, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_broken_list_is_quiet, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_load_dir_with_broken_file, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_watch, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_reload_logs_once, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_reload_changed_items_only, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_reload_patch_equals_full_load, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_reload_duplicate_across_files, setup_dir,
						teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
