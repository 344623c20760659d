/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/kube_backoff.c: the doubling schedule, the cap, the jitter bounds (with a
 * scripted random source), and the reset after a healthy period.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube_backoff.h"

static uint32_t scripted_rand(void *userdata)
{
	return *(uint32_t *)userdata;
}

struct step {
	uint64_t now_ms;
	uint32_t rand;
	uint32_t delay_ms;
};

struct schedule_case {
	const char *name;
	const struct step *steps;
	size_t n_steps;
};

#define R_MIN 0u
#define R_MAX UINT32_MAX
#define R_MID 0x80000000u

static const struct step doubling_low[] = {
	{ 0, R_MIN, 400 },	  { 1000, R_MIN, 800 },	    { 2000, R_MIN, 1600 },
	{ 3000, R_MIN, 3200 },	  { 4000, R_MIN, 6400 },    { 5000, R_MIN, 12800 },
	{ 6000, R_MIN, 15000 }, /* step capped at 30 s */ { 7000, R_MIN, 15000 },
};
static const struct step doubling_high[] = {
	{ 0, R_MAX, 800 },	{ 1, R_MAX, 1600 },   { 2, R_MAX, 3200 },   { 3, R_MAX, 6400 },
	{ 4, R_MAX, 12800 },	{ 5, R_MAX, 25600 },  { 6, R_MAX, 30000 },  { 7, R_MAX, 30000 },
};
static const struct step reset_after_quiet[] = {
	{ 0, R_MAX, 800 },
	{ 10000, R_MAX, 1600 },
	{ 20000, R_MAX, 3200 },
	/* 120 s since the last failure is not more than the reset period. */
	{ 140000, R_MAX, 6400 },
	/* More than 120 s: back to the base. */
	{ 260001, R_MAX, 800 },
	{ 261000, R_MID, 1200 },
};

static const struct schedule_case schedule_cases[] = {
	{ "doubling, lowest jitter", doubling_low, sizeof(doubling_low) / sizeof(doubling_low[0]) },
	{ "doubling, highest jitter", doubling_high,
	  sizeof(doubling_high) / sizeof(doubling_high[0]) },
	{ "reset after a quiet period", reset_after_quiet,
	  sizeof(reset_after_quiet) / sizeof(reset_after_quiet[0]) },
};

static void test_schedule(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(schedule_cases) / sizeof(schedule_cases[0]); i++) {
		const struct schedule_case *tc = &schedule_cases[i];
		struct kube_backoff b;
		uint32_t r = 0;

		kube_backoff_init(&b, 0, 0, 0, scripted_rand, &r, 0);
		for (size_t k = 0; k < tc->n_steps; k++) {
			uint32_t d;

			r = tc->steps[k].rand;
			d = kube_backoff_next(&b, tc->steps[k].now_ms);
			if (d != tc->steps[k].delay_ms)
				fail_msg("case \"%s\" step %zu: delay %u, want %u", tc->name, k, d,
					 tc->steps[k].delay_ms);
		}
	}
}

static void test_explicit_reset(void **state)
{
	struct kube_backoff b;
	uint32_t r = R_MAX;

	(void)state;
	kube_backoff_init(&b, 100, 1000, 5000, scripted_rand, &r, 0);
	assert_int_equal(kube_backoff_step(&b), 0);
	assert_int_equal(kube_backoff_next(&b, 0), 100);
	assert_int_equal(kube_backoff_next(&b, 1), 200);
	kube_backoff_reset(&b);
	assert_int_equal(kube_backoff_step(&b), 0);
	assert_int_equal(kube_backoff_next(&b, 2), 100);
}

/* The built-in generator stays within [step/2, step] and is not constant. */
static void test_builtin_random_bounds(void **state)
{
	struct kube_backoff b;
	uint32_t lo = UINT32_MAX, hi = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		uint32_t d;

		kube_backoff_init(&b, 0, 0, 0, NULL, NULL, (uint64_t)i * 7919 + 1);
		(void)kube_backoff_next(&b, 0);
		d = kube_backoff_next(&b, 1); /* step 1600 */
		assert_in_range(d, 800, 1600);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(hi - lo > 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_explicit_reset),
		cmocka_unit_test(test_builtin_random_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
