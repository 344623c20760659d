/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoding benchmark (issue 3 acceptance): generates 10 000 Services and 10 000 EndpointSlices
 * with 100 000 endpoints as API list JSON, then times parse + decode + cache put, and the same
 * objects through the --from file source, printing time and memory. Figures, not a test.
 * `bench_decode --write DIR` only writes the two files (services.json, slices.json) into DIR,
 * for measuring `kipvs plan --from DIR` (bench/run-from-bench.sh).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench_gen.h"
#include "cleanup.h"
#include "kube_cache.h"
#include "kube_decode.h"
#include "kube_source.h"
#include "log.h"

static double heap_mb(void)
{
	return (double)mallinfo2().uordblks / (1024.0 * 1024.0);
}

static int put_object(struct kube_object *obj, void *userdata)
{
	struct kube_cache *cache = userdata;

	switch (obj->kind) {
	case KUBE_KIND_SERVICE:
		return kube_cache_put_service(cache, TAKE_PTR(obj->svc)) < 0 ? -1 : 0;
	case KUBE_KIND_ENDPOINT_SLICE:
		return kube_cache_put_slice(cache, TAKE_PTR(obj->slice)) < 0 ? -1 : 0;
	case KUBE_KIND_NODE:
	case _KUBE_KIND_MAX:
		break;
	}
	kube_object_clear(obj);
	return 0;
}

static size_t count_endpoints_total;

static int count_endpoints(const struct kube_endpoint_slice *slice, void *userdata)
{
	count_endpoints_total += slice->n_endpoints;
	return 0;
}

/* Writes the generated lists into dir (which must exist). 0 or 1. */
static int write_fixture(const char *dir)
{
	struct bench_buf svcs = {0}, slices = {0};
	char path[4096];
	int r = 0;

	bench_gen_services(&svcs);
	bench_gen_slices(&slices);
	snprintf(path, sizeof(path), "%s/services.json", dir);
	r |= bench_buf_write(&svcs, path);
	snprintf(path, sizeof(path), "%s/slices.json", dir);
	r |= bench_buf_write(&slices, path);
	free(svcs.p);
	free(slices.p);
	if (r < 0)
		perror(dir);
	return r < 0;
}

int main(int argc, char **argv)
{
	struct bench_buf svcs = {0}, slices = {0};
	struct kube_cache *cache;
	double t0, t_parse = 0, t_decode = 0, heap0, heap_cache, rss_read;
	char dir[] = "/tmp/kipvs-bench-decode-XXXXXX", path[64], path2[64];
	int n_objects = 0, r;

	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		return write_fixture(argv[2]);
	bench_gen_services(&svcs);
	bench_gen_slices(&slices);
	printf("input: %d Services (%.1f MB JSON), %d EndpointSlices with %d endpoints (%.1f MB "
	       "JSON)\n",
	       BENCH_N_SERVICES, (double)svcs.len / 1e6, BENCH_N_SERVICES,
	       BENCH_N_SERVICES * BENCH_ENDPOINTS_PER_SLICE,
	       (double)slices.len / 1e6);

	heap0 = heap_mb();
	cache = kube_cache_new();
	for (int k = 0; k < 2; k++) {
		const struct bench_buf *b = k ? &slices : &svcs;
		cJSON *doc;

		t0 = bench_now();
		doc = cJSON_ParseWithLength(b->p, b->len);
		t_parse += bench_now() - t0;
		if (!doc) {
			fprintf(stderr, "generated JSON does not parse\n");
			return 1;
		}
		t0 = bench_now();
		r = kube_decode_document(doc, "bench", put_object, cache);
		t_decode += bench_now() - t0;
		cJSON_Delete(doc);
		if (r < 0) {
			fprintf(stderr, "decode failed: %d\n", r);
			return 1;
		}
		n_objects += r;
	}
	heap_cache = heap_mb() - heap0;
	if (kube_cache_foreach_slice(cache, count_endpoints, NULL) != 0)
		return 1;
	printf("decoded: %d objects, %zu Services, %zu slices, %zu endpoints in the cache\n",
	       n_objects, kube_cache_count_services(cache), kube_cache_count_slices(cache),
	       count_endpoints_total);
	if (kube_cache_count_services(cache) != BENCH_N_SERVICES ||
	    count_endpoints_total != BENCH_N_SERVICES * BENCH_ENDPOINTS_PER_SLICE) {
		fprintf(stderr, "wrong counts\n");
		return 1;
	}
	printf("api path:  cJSON parse %.3f s, decode + cache put %.3f s, total %.3f s\n", t_parse,
	       t_decode, t_parse + t_decode);
	printf("memory:    cache holds %.1f MB of heap after the trees are freed; peak RSS so far "
	       "%.1f MB (includes the %.1f MB of generated text)\n",
	       heap_cache, bench_peak_rss_mb(),
	       (double)(svcs.len + slices.len) / (1024.0 * 1024.0));
	kube_cache_free(cache);

	/* The same objects through --from: files on disk, one-shot load. */
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/services.json", dir);
	snprintf(path2, sizeof(path2), "%s/slices.json", dir);
	if (bench_buf_write(&svcs, path) < 0 || bench_buf_write(&slices, path2) < 0)
		return 1;
	free(svcs.p);
	free(slices.p);
	cache = kube_cache_new();
	t0 = bench_now();
	r = kube_source_load(cache, dir, NULL);
	printf("file path: kube_source_load of %d objects %.3f s\n", r, bench_now() - t0);
	t0 = bench_now();
	r = kube_source_load(cache, dir, NULL);
	printf("file path: reload, nothing changed, %.3f s\n", bench_now() - t0);
	kube_cache_free(cache);
	/* The daemon's watched source re-reads, but decodes only files whose content changed. */
	{
		struct kube_source *src = NULL;

		cache = kube_cache_new();
		if (kube_source_new(NULL, cache, dir, NULL, NULL, NULL, &src) < 0 ||
		    kube_source_reload(src) != 2 * BENCH_N_SERVICES)
			return 1;
		/* What the daemon does once ready (daemon_memory_trim): the steady figure. */
		rss_read = bench_rss_mb();
		(void)malloc_trim(0);
		printf("file path: RSS after the first read %.1f MB, after malloc_trim %.1f MB "
		       "(cache and source kept)\n",
		       rss_read, bench_rss_mb());
		t0 = bench_now();
		r = kube_source_reload(src);
		printf("file path: watched re-read, nothing changed (read + hash, no decode), "
		       "%.3f s\n",
		       bench_now() - t0);
		kube_source_free(src);
	}
	printf("peak RSS:  %.1f MB\n", bench_peak_rss_mb());
	kube_cache_free(cache);
	(void)unlink(path);
	(void)unlink(path2);
	(void)rmdir(dir);
	return r == 2 * BENCH_N_SERVICES ? 0 : 1;
}
