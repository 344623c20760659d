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

/*
 * The IPv6 table of the scale benchmark (bench/scale_gen.py writes the same addresses):
 * virtual server i is fd00:100::(i + 1), its real server j is fd00:(200 + j)::(i + 1), the
 * number in the last 32 bits.
 */
static inline void bench_addr6(int net, int i, uint8_t addr[16])
{
	uint32_t n = (uint32_t)i + 1;

	memset(addr, 0, 16);
	addr[0] = 0xfd;
	addr[2] = (uint8_t)(net >> 8);
	addr[3] = (uint8_t)net;
	addr[12] = (uint8_t)(n >> 24);
	addr[13] = (uint8_t)(n >> 16);
	addr[14] = (uint8_t)(n >> 8);
	addr[15] = (uint8_t)n;
}

/* Virtual server i of family af (AF_INET: bench_vip, AF_INET6: fd00:100::(i + 1)). */
static inline void bench_vip_af(int af, int i, uint8_t addr[16])
{
	if (af == 10 /* AF_INET6 */)
		bench_addr6(0x100, i, addr);
	else
		bench_vip(i, addr);
}

/* Real server j of virtual server i of family af. */
static inline void bench_rip_af(int af, int i, int j, uint8_t addr[16])
{
	if (af == 10 /* AF_INET6 */)
		bench_addr6(0x200 + j, i, addr);
	else
		bench_rip(i, j, addr);
}
