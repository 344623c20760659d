/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Jittered exponential backoff (numbers in kube_backoff.h). Kept pure and separate from the
 * reflector so that the schedule can be unit-tested with a scripted random source.
 */
#include "kube_backoff.h"

#include <stddef.h>

static uint32_t kube_backoff_xorshift(struct kube_backoff *backoff)
{
	uint64_t x = backoff->rand_state;

	if (x == 0)
		x = 0x9e3779b97f4a7c15ULL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	backoff->rand_state = x;
	return (uint32_t)(x >> 32);
}

void kube_backoff_init(struct kube_backoff *backoff, uint32_t base_ms, uint32_t cap_ms,
		       uint32_t reset_ms, kube_backoff_rand_fn rand, void *rand_userdata,
		       uint64_t seed)
{
	backoff->base_ms = base_ms ? base_ms : KUBE_BACKOFF_BASE_MS;
	backoff->cap_ms = cap_ms ? cap_ms : KUBE_BACKOFF_CAP_MS;
	if (backoff->cap_ms < backoff->base_ms)
		backoff->cap_ms = backoff->base_ms;
	backoff->reset_ms = reset_ms ? reset_ms : KUBE_BACKOFF_RESET_MS;
	backoff->step_ms = 0;
	backoff->last_failure_ms = 0;
	backoff->rand = rand;
	backoff->rand_userdata = rand_userdata;
	backoff->rand_state = seed;
}

void kube_backoff_reset(struct kube_backoff *backoff)
{
	backoff->step_ms = 0;
}

uint32_t kube_backoff_step(const struct kube_backoff *backoff)
{
	return backoff->step_ms;
}

uint32_t kube_backoff_next(struct kube_backoff *backoff, uint64_t now_ms)
{
	uint32_t r, half;

	if (backoff->step_ms != 0 && now_ms >= backoff->last_failure_ms &&
	    now_ms - backoff->last_failure_ms > backoff->reset_ms)
		backoff->step_ms = 0;
	if (backoff->step_ms == 0)
		backoff->step_ms = backoff->base_ms;
	else if (backoff->step_ms > backoff->cap_ms / 2)
		backoff->step_ms = backoff->cap_ms;
	else
		backoff->step_ms *= 2;
	backoff->last_failure_ms = now_ms;

	r = backoff->rand ? backoff->rand(backoff->rand_userdata) : kube_backoff_xorshift(backoff);
	half = backoff->step_ms / 2;
	/* Uniform in [step - half, step]: scale r to [0, half] without overflow. */
	return backoff->step_ms - half + (uint32_t)(((uint64_t)r * (half + 1)) >> 32);
}
