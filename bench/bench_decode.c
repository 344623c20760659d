/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoding benchmark (issue 3 acceptance): generates 10 000 Services and 10 000 EndpointSlices
 * with 100 000 endpoints as API list JSON, then times parse + decode + cache put, and the same
 * objects through the --from file source, printing time and memory. Figures, not a test.
 */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cleanup.h"
#include "kube_cache.h"
#include "kube_decode.h"
#include "kube_source.h"
#include "log.h"

#define N_SERVICES 10000
#define ENDPOINTS_PER_SLICE 10

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap ? 2 * b->cap : 1 << 20;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	b->len += (size_t)n;
}

static void gen_services(struct buf *b)
{
	buf_printf(b, "{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"items\":[");
	for (int i = 0; i < N_SERVICES; i++)
		buf_printf(b,
			   "%s{\"metadata\":{\"name\":\"svc-%d\",\"namespace\":\"ns-%d\","
			   "\"uid\":\"uid-%d\",\"resourceVersion\":\"%d\",\"labels\":{\"app\":\"a%d\"}},"
			   "\"spec\":{\"type\":\"%s\",\"clusterIP\":\"10.%d.%d.%d\","
			   "\"clusterIPs\":[\"10.%d.%d.%d\"],\"ipFamilies\":[\"IPv4\"],"
			   "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,"
			   "\"targetPort\":8080%s},{\"name\":\"metrics\",\"protocol\":\"TCP\","
			   "\"port\":9090,\"targetPort\":9090}],\"sessionAffinity\":\"None\","
			   "\"internalTrafficPolicy\":\"Cluster\"},\"status\":{\"loadBalancer\":{}}}",
			   i ? "," : "", i, i % 50, i, 1000 + i, i, i % 10 ? "ClusterIP" : "NodePort",
			   96 + i / 65536, (i / 256) % 256, i % 256, 96 + i / 65536, (i / 256) % 256,
			   i % 256, i % 10 ? "" : ",\"nodePort\":30080");
	buf_printf(b, "]}");
}

static void gen_slices(struct buf *b)
{
	buf_printf(b, "{\"kind\":\"EndpointSliceList\",\"apiVersion\":\"discovery.k8s.io/v1\","
		      "\"items\":[");
	for (int i = 0; i < N_SERVICES; i++) {
		buf_printf(b,
			   "%s{\"metadata\":{\"name\":\"svc-%d-x%d\",\"namespace\":\"ns-%d\","
			   "\"resourceVersion\":\"%d\",\"labels\":{\"kubernetes.io/service-name\":"
			   "\"svc-%d\"},\"annotations\":{\"endpoints.kubernetes.io/"
			   "last-change-trigger-time\":\"2024-05-04T12:34:56Z\"}},\"addressType\":\"IPv4\","
			   "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080},"
			   "{\"name\":\"metrics\",\"protocol\":\"TCP\",\"port\":9090}],\"endpoints\":[",
			   i ? "," : "", i, i % 7, i % 50, 50000 + i, i);
		for (int e = 0; e < ENDPOINTS_PER_SLICE; e++) {
			int n = i * ENDPOINTS_PER_SLICE + e;

			buf_printf(b,
				   "%s{\"addresses\":[\"10.%d.%d.%d\"],\"conditions\":{\"ready\":true,"
				   "\"serving\":true,\"terminating\":false},\"nodeName\":\"node-%d\","
				   "\"zone\":\"zone-%d\",\"targetRef\":{\"kind\":\"Pod\",\"name\":\"p-%d\","
				   "\"namespace\":\"ns-%d\"}}",
				   e ? "," : "", 128 + n / 65536, (n / 256) % 256, n % 256, n % 100,
				   n % 3, n, i % 50);
		}
		buf_printf(b, "]}");
	}
	buf_printf(b, "]}");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

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

static int write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "we");

	if (!f || fwrite(b->p, 1, b->len, f) != b->len) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

int main(void)
{
	struct buf svcs = {0}, slices = {0};
	struct kube_cache *cache;
	double t0, t_parse = 0, t_decode = 0, heap0, heap_cache;
	char dir[] = "/tmp/kipvs-bench-decode-XXXXXX", path[64], path2[64];
	int n_objects = 0, r;

	gen_services(&svcs);
	gen_slices(&slices);
	printf("input: %d Services (%.1f MB JSON), %d EndpointSlices with %d endpoints (%.1f MB "
	       "JSON)\n",
	       N_SERVICES, (double)svcs.len / 1e6, N_SERVICES, N_SERVICES * ENDPOINTS_PER_SLICE,
	       (double)slices.len / 1e6);

	heap0 = heap_mb();
	cache = kube_cache_new();
	for (int k = 0; k < 2; k++) {
		const struct buf *b = k ? &slices : &svcs;
		cJSON *doc;

		t0 = now();
		doc = cJSON_ParseWithLength(b->p, b->len);
		t_parse += now() - t0;
		if (!doc) {
			fprintf(stderr, "generated JSON does not parse\n");
			return 1;
		}
		t0 = now();
		r = kube_decode_document(doc, "bench", put_object, cache);
		t_decode += now() - t0;
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
	if (kube_cache_count_services(cache) != N_SERVICES ||
	    count_endpoints_total != N_SERVICES * ENDPOINTS_PER_SLICE) {
		fprintf(stderr, "wrong counts\n");
		return 1;
	}
	printf("api path:  cJSON parse %.3f s, decode + cache put %.3f s, total %.3f s\n", t_parse,
	       t_decode, t_parse + t_decode);
	printf("memory:    cache holds %.1f MB of heap after the trees are freed; peak RSS so far "
	       "%.1f MB (includes the %.1f MB of generated text)\n",
	       heap_cache, (double)peak_rss_kb() / 1024.0,
	       (double)(svcs.len + slices.len) / (1024.0 * 1024.0));
	kube_cache_free(cache);

	/* The same objects through --from: files on disk, one-shot load. */
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/services.json", dir);
	snprintf(path2, sizeof(path2), "%s/slices.json", dir);
	if (write_file(path, &svcs) < 0 || write_file(path2, &slices) < 0)
		return 1;
	free(svcs.p);
	free(slices.p);
	cache = kube_cache_new();
	t0 = now();
	r = kube_source_load(cache, dir, NULL);
	printf("file path: kube_source_load of %d objects %.3f s\n", r, now() - t0);
	t0 = now();
	r = kube_source_load(cache, dir, NULL);
	printf("file path: reload, nothing changed, %.3f s\n", now() - t0);
	printf("peak RSS:  %.1f MB\n", (double)peak_rss_kb() / 1024.0);
	kube_cache_free(cache);
	(void)unlink(path);
	(void)unlink(path2);
	(void)rmdir(dir);
	return r == 2 * N_SERVICES ? 0 : 1;
}
