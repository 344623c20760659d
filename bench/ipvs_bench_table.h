/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The benchmark table, shared by the kipvs benchmark and the kernel-floor program so both send
 * exactly the same messages: BENCH_SERVICES TCP virtual servers, BENCH_DESTS masquerade real
 * servers each, weight 1, scheduler rr.
 */
#pragma once

#include <stdint.h>
#include <string.h>

#define BENCH_SERVICES 10000
#define BENCH_DESTS 10
#define BENCH_PORT 80
#define BENCH_RS_PORT 8080

/* 10.100.0.1 ... in increasing order (the plan's order). */
static inline void bench_vip(int i, uint8_t addr[16])
{
	memset(addr, 0, 16);
	addr[0] = 10;
	addr[1] = 100;
	addr[2] = (uint8_t)(i / 250);
	addr[3] = (uint8_t)(i % 250 + 1);
}

/* Real server j of service i: 10.(200 + j).x.y, increasing with j. */
static inline void bench_rip(int i, int j, uint8_t addr[16])
{
	memset(addr, 0, 16);
	addr[0] = 10;
	addr[1] = (uint8_t)(200 + j);
	addr[2] = (uint8_t)(i / 250);
	addr[3] = (uint8_t)(i % 250 + 1);
}
