/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for strict ARP (ipvs/fw_arp.c) against a fake /proc tree in a temporary
 * directory: table-driven over the starting values, checking the count, the values after, the
 * change the first run logs, and that a second run changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fw.h"
#include "log.h"

struct t_case {
	const char *name;
	bool enable;
	const char *ignore, *announce; /* starting contents; NULL: the file is missing */
	int want_r;
	const char *want_ignore, *want_announce;
	const char *want_log; /* a change the first run logs; NULL: it logs none */
};

#define T_LOG(name, from, to)                                                                      \
	"component=fw msg=\"strict ARP sysctl set\" sysctl=net.ipv4.conf.all." name " from=" from  \
	" to=" to

static const struct t_case cases[] = {
    {"both default, enabled", true, "0\n", "0\n", 2, "1", "2", T_LOG("arp_ignore", "0", "1")},
    {"ignore already set", true, "1\n", "0\n", 1, "1", "2", T_LOG("arp_announce", "0", "2")},
    {"both already set", true, "1\n", "2\n", 0, "1", "2", NULL},
    {"other values are overwritten", true, "2\n", "1\n", 2, "1", "2",
     T_LOG("arp_announce", "1", "2")},
    {"disabled touches nothing", false, "0\n", "0\n", 0, "0", "0", NULL},
    {"missing file: error after trying the other", true, NULL, "0\n", -ENOENT, NULL, "2",
     T_LOG("arp_announce", "0", "2")},
    {"garbage is an error", true, "x\n", "2\n", -EBADMSG, "x", "2", NULL},
};

/* Where the log goes outside the captured first run. */
static FILE *devnull;

static void t_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void t_read(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct t_case *c = &cases[i];
		char root[] = "/tmp/test_fw_arp.XXXXXX", dir[256], ign[300], ann[300], got[32];
		char *log_buf = NULL;
		size_t log_len = 0;
		FILE *log_f;
		int r;

		assert_non_null(mkdtemp(root));
		snprintf(dir, sizeof(dir), "%s/sys/net/ipv4/conf/all", root);
		for (char *p = dir + strlen(root) + 1; *p; p++)
			if (*p == '/') {
				*p = '\0';
				(void)mkdir(dir, 0755);
				*p = '/';
			}
		assert_int_equal(mkdir(dir, 0755), 0);
		snprintf(ign, sizeof(ign), "%s/arp_ignore", dir);
		snprintf(ann, sizeof(ann), "%s/arp_announce", dir);
		if (c->ignore)
			t_write(ign, c->ignore);
		if (c->announce)
			t_write(ann, c->announce);
		log_f = open_memstream(&log_buf, &log_len);
		assert_non_null(log_f);
		log_set_stream(log_f);
		r = fw_strict_arp_apply(root, c->enable);
		log_set_stream(devnull);
		assert_int_equal(fclose(log_f), 0);
		if (r != c->want_r)
			fail_msg("case \"%s\": returned %d, want %d", c->name, r, c->want_r);
		if (c->want_log ? !strstr(log_buf, c->want_log)
				: strstr(log_buf, "strict ARP sysctl set") != NULL)
			fail_msg("case \"%s\": logged \"%s\", want \"%s\"", c->name, log_buf,
				 c->want_log ? c->want_log : "");
		free(log_buf);
		log_buf = NULL;
		t_read(ign, got, sizeof(got));
		if (c->want_ignore && strcmp(got, c->want_ignore) != 0)
			fail_msg("case \"%s\": arp_ignore %s, want %s", c->name, got,
				 c->want_ignore);
		t_read(ann, got, sizeof(got));
		if (strcmp(got, c->want_announce) != 0)
			fail_msg("case \"%s\": arp_announce %s, want %s", c->name, got,
				 c->want_announce);
		/* Idempotent: a second run changes nothing (errors stay errors). */
		r = fw_strict_arp_apply(root, c->enable);
		if (c->want_r >= 0 && r != 0)
			fail_msg("case \"%s\": second run returned %d, want 0", c->name, r);
		(void)unlink(ign);
		(void)unlink(ann);
		for (char *p = dir + strlen(dir); p > dir + strlen(root); p--)
			if (*p == '/' || *p == '\0') {
				*p = '\0';
				(void)rmdir(dir);
			}
		(void)rmdir(root);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	};

	devnull = fopen("/dev/null", "w");
	log_set_stream(devnull);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
