/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Jittered, capped exponential backoff for the API client, close to client-go's reflector:
 * the step starts at 800 ms and doubles per consecutive failure up to 30 s; the delay actually
 * used is drawn uniformly from [step/2, step], so a fleet of nodes does not retry in lockstep;
 * after 2 minutes without a failure the step starts again from 800 ms. Pure: the caller passes
 * the time and the random source, so the tests are deterministic.
 *
 * The struct is a small value embedded in its owner (like struct net_addr), hence not opaque.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define KUBE_BACKOFF_BASE_MS 800
#define KUBE_BACKOFF_CAP_MS 30000
#define KUBE_BACKOFF_RESET_MS 120000

/* Returns a uniformly distributed 32-bit value. */
typedef uint32_t (*kube_backoff_rand_fn)(void *userdata);

struct kube_backoff {
	uint32_t base_ms;
	uint32_t cap_ms;
	uint32_t reset_ms;
	uint32_t step_ms; /* 0 before the first failure */
	uint64_t last_failure_ms;
	kube_backoff_rand_fn rand;
	void *rand_userdata;
	uint64_t rand_state; /* for the built-in generator, when rand is NULL */
};

/*
 * Sets the parameters (0 selects the defaults above). `rand` may be NULL: a xorshift generator
 * seeded with `seed` is used then.
 */
void kube_backoff_init(struct kube_backoff *backoff, uint32_t base_ms, uint32_t cap_ms,
		       uint32_t reset_ms, kube_backoff_rand_fn rand, void *rand_userdata,
		       uint64_t seed);

/*
 * Records a failure at now_ms and returns the delay to wait before the next attempt, in
 * milliseconds: in [step/2, step] where step doubles per call from base_ms up to cap_ms, and
 * falls back to base_ms when the previous failure is more than reset_ms ago.
 */
uint32_t kube_backoff_next(struct kube_backoff *backoff, uint64_t now_ms);

/* Forgets the failures: the next kube_backoff_next() uses the base step. */
void kube_backoff_reset(struct kube_backoff *backoff);

/* The current step, 0 when no failure is on record (for logs and tests). */
uint32_t kube_backoff_step(const struct kube_backoff *backoff);
