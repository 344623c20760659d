/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The benchmark cluster generator (bench_gen.h): the same 10 000 Services and 10 000
 * EndpointSlices for the decode benchmark (in memory) and the list benchmark (files that the
 * fake API server loads), so their figures compare.
 */
#include "bench_gen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

void bench_buf_printf(struct bench_buf *b, const char *fmt, ...)
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

void bench_gen_services(struct bench_buf *b)
{
	bench_buf_printf(b, "{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"items\":[");
	for (int i = 0; i < BENCH_N_SERVICES; i++)
		bench_buf_printf(
		    b,
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
	bench_buf_printf(b, "]}");
}

void bench_gen_slices(struct bench_buf *b)
{
	bench_buf_printf(b,
			 "{\"kind\":\"EndpointSliceList\",\"apiVersion\":\"discovery.k8s.io/v1\","
			 "\"items\":[");
	for (int i = 0; i < BENCH_N_SERVICES; i++) {
		bench_buf_printf(
		    b,
		    "%s{\"metadata\":{\"name\":\"svc-%d-x%d\",\"namespace\":\"ns-%d\","
		    "\"resourceVersion\":\"%d\",\"labels\":{\"kubernetes.io/service-name\":"
		    "\"svc-%d\"},\"annotations\":{\"endpoints.kubernetes.io/"
		    "last-change-trigger-time\":\"2024-05-04T12:34:56Z\"}},\"addressType\":"
		    "\"IPv4\","
		    "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080},"
		    "{\"name\":\"metrics\",\"protocol\":\"TCP\",\"port\":9090}],\"endpoints\":[",
		    i ? "," : "", i, i % 7, i % 50, 50000 + i, i);
		for (int e = 0; e < BENCH_ENDPOINTS_PER_SLICE; e++) {
			int n = i * BENCH_ENDPOINTS_PER_SLICE + e;

			bench_buf_printf(
			    b,
			    "%s{\"addresses\":[\"10.%d.%d.%d\"],\"conditions\":{\"ready\":true,"
			    "\"serving\":true,\"terminating\":false},\"nodeName\":\"node-%d\","
			    "\"zone\":\"zone-%d\",\"targetRef\":{\"kind\":\"Pod\",\"name\":\"p-%"
			    "d\","
			    "\"namespace\":\"ns-%d\"}}",
			    e ? "," : "", 128 + n / 65536, (n / 256) % 256, n % 256, n % 100, n % 3,
			    n, i % 50);
		}
		bench_buf_printf(b, "]}");
	}
	bench_buf_printf(b, "]}");
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_peak_rss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

int bench_buf_write(const struct bench_buf *b, const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	if (fwrite(b->p, 1, b->len, f) != b->len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

double bench_rss_mb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	double kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb / 1024.0;
}
