/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the ipvs/ unit tests: tables and desired tables written as `ipvsadm -R`
 * lines, and operation lists rendered back to lines for exact comparison.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ipvs_internal.h"

/* Builds a table from -A/-a lines by applying them to a fake kernel. Aborts the test on error. */
static inline void test_table_from_rules(const char *rules, struct ipvs_table *ret)
{
	struct ipvs_oplist ops = {0};
	struct ipvs_fake fake;

	ipvs_fake_init(&fake);
	if (ipvs_rules_parse(rules, &ops) < 0)
		fail_msg("bad rules: %s", rules);
	if (ipvs_fake_ops.apply(&fake, ops.ops, ops.n, NULL) < 0)
		fail_msg("apply failed: %s", rules);
	for (size_t i = 0; i < ops.n; i++)
		if (ops.ops[i].err)
			fail_msg("rule %zu failed (%d): %s", i, ops.ops[i].err, rules);
	*ret = fake.table;
	fake.table.vs = NULL;
	ipvs_fake_clear(&fake);
	ipvs_oplist_clear(&ops);
}

static inline void test_plan_from_rules(const char *rules, struct plan_table *ret)
{
	struct ipvs_oplist ops = {0};

	if (ipvs_rules_parse(rules, &ops) < 0 || ipvs_rules_to_plan(&ops, ret) < 0)
		fail_msg("bad desired rules: %s", rules);
	ipvs_oplist_clear(&ops);
}

/* The ops as `ipvsadm -R` lines; free() the result. */
static inline char *test_ops_text(const struct ipvs_op *ops, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (size_t i = 0; i < n; i++)
		ipvs_op_write(&ops[i], f);
	fclose(f);
	return buf;
}

static inline char *test_table_text(const struct ipvs_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ipvs_table_write(t, f);
	fclose(f);
	return buf;
}

/* Compares two texts and names the case when they differ. */
#define test_assert_text(name, got, want)                                                          \
	do {                                                                                       \
		if (strcmp((got), (want)) != 0)                                                    \
			fail_msg("case \"%s\":\n--- want\n%s--- got\n%s", (name), (want), (got));  \
	} while (0)
