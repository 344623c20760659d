/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where one sync's time went, phase by phase, so the next slow sync is explained by one log
 * line (`-v 1`) and one metric (kipvs_sync_phase_duration_seconds). Each side adds the phases
 * it runs: the sources decode, the daemon plans, ipvs/ reads, diffs, programs and binds, fw/
 * writes nftables and cleans conntrack, both record.
 */
#pragma once

#include <stddef.h>

enum sync_phase {
	SYNC_PHASE_DECODE,    /* parsing and decoding objects since the last sync */
	SYNC_PHASE_PLAN,      /* the desired table and the packet path's sets */
	SYNC_PHASE_READ,      /* reading the kernel's IPVS table back (verification, repair) */
	SYNC_PHASE_DIFF,      /* comparing desired with the kernel's table */
	SYNC_PHASE_IPVS,      /* sending IPVS operations and reading their answers */
	SYNC_PHASE_VIPS,      /* binding, unbinding and re-reading virtual addresses */
	SYNC_PHASE_NFTABLES,  /* nftables base table, set elements, read-back */
	SYNC_PHASE_CONNTRACK, /* deleting stale UDP conntrack entries */
	SYNC_PHASE_RECORD,    /* ownership, drains, the state file, the table kept for next time */
	_SYNC_PHASE_MAX,
};

struct sync_phases {
	double ms[_SYNC_PHASE_MAX];
};

/* "decode", "plan", ...: the label value and the log key's stem. */
const char *sync_phase_to_string(enum sync_phase p);

/* Milliseconds on CLOCK_MONOTONIC, for timing a phase. */
double sync_phase_now_ms(void);

/* Adds every phase of src to dst. */
void sync_phases_add(struct sync_phases *dst, const struct sync_phases *src);

/* Adds the time since since_ms to phase p. */
void sync_phase_add_since(struct sync_phases *ph, enum sync_phase p, double since_ms);

/* "decode_ms=1.2 plan_ms=0.4 ..." (every phase, one decimal) into buf. */
void sync_phases_format(const struct sync_phases *ph, char *buf, size_t size);
