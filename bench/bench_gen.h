/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The issue-3 benchmark cluster, shared by bench_decode and bench_list: 10 000 Services and
 * 10 000 EndpointSlices with 10 endpoints each, written as API list JSON (ServiceList,
 * EndpointSliceList: items without kind, as the API server sends them).
 */
#pragma once

#include <stddef.h>

#define BENCH_N_SERVICES 10000
#define BENCH_ENDPOINTS_PER_SLICE 10

/* A growing text buffer; the generators abort() when out of memory (benchmarks only). */
struct bench_buf {
	char *p;
	size_t len, cap;
};

void bench_buf_printf(struct bench_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends the ServiceList (BENCH_N_SERVICES items; every tenth one a NodePort). */
void bench_gen_services(struct bench_buf *b);

/* Appends the EndpointSliceList: one slice per Service, BENCH_ENDPOINTS_PER_SLICE endpoints. */
void bench_gen_slices(struct bench_buf *b);

/* Writes b to path. 0 or -1 (errno set). */
int bench_buf_write(const struct bench_buf *b, const char *path);

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

/* Peak RSS of this process (getrusage ru_maxrss), in MiB. */
double bench_peak_rss_mb(void);

/* Current RSS of this process (VmRSS in /proc/self/status), in MiB; -1 if unknown. */
double bench_rss_mb(void);
