/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IPVS scheduler of the plan: which names are syntactically possible (the kernel decides
 * whether it has one; kipvs run asks it at start), the scheduler flags each scheduler gets, and
 * those flags in ipvsadm's `-b` names, for the plan's text and for reading ipvsadm lines.
 */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"

bool plan_scheduler_is_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n >= PLAN_SCHEDULER_MAX)
		return false;
	/* The kernel loads ip_vs_<name>: keep to what a module name can hold. */
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
	       n;
}

uint32_t plan_scheduler_flags(const char *name)
{
	/*
	 * Without FALLBACK, sh and mh keep a destination at weight 0 in their hash table and a
	 * new connection hashed to it finds no destination at all (kubernetes#138688). mh also
	 * hashes the source port, so that one client's connections spread (kube-proxy's
	 * FlagSourceHash); sh stays source-address affinity, as kube-proxy leaves it.
	 */
	if (name && strcmp(name, "mh") == 0)
		return PLAN_SCHED_F_FALLBACK | PLAN_SCHED_F_PORT;
	if (name && strcmp(name, "sh") == 0)
		return PLAN_SCHED_F_FALLBACK;
	return 0;
}

/* The `-b` name of flag bit i (0: FALLBACK, 1: PORT, 2: the third) under scheduler. */
static void plan_sched_flag_name(const char *scheduler, unsigned i, char *buf, size_t size)
{
	static const char *const named[] = {"fallback", "port"};
	bool hashing = strcmp(scheduler, "sh") == 0 || strcmp(scheduler, "mh") == 0;

	if (hashing && i < ARRAY_SIZE(named))
		(void)snprintf(buf, size, "%s-%s", scheduler, named[i]);
	else
		(void)snprintf(buf, size, "flag-%u", i + 1);
}

const char *plan_sched_flags_format(const char *scheduler, uint32_t flags, char *buf)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < 3; i++) {
		char name[PLAN_SCHEDULER_MAX + 16];

		if (!(flags & (PLAN_SCHED_F_FALLBACK << i)))
			continue;
		plan_sched_flag_name(scheduler, i, name, sizeof(name));
		off += (size_t)snprintf(buf + off, PLAN_SCHED_FLAGS_STRLEN - off, "%s%s",
					off ? "," : "", name);
		if (off >= PLAN_SCHED_FLAGS_STRLEN)
			break;
	}
	return buf;
}

int plan_sched_flags_parse(const char *scheduler, const char *text, uint32_t *ret_flags)
{
	uint32_t flags = 0;

	while (*text) {
		size_t len = strcspn(text, ",");
		unsigned i;

		for (i = 0; i < 3; i++) {
			char name[PLAN_SCHEDULER_MAX + 16], generic[8];

			plan_sched_flag_name(scheduler, i, name, sizeof(name));
			(void)snprintf(generic, sizeof(generic), "flag-%u", i + 1);
			if ((strlen(name) == len && strncmp(text, name, len) == 0) ||
			    (strlen(generic) == len && strncmp(text, generic, len) == 0))
				break;
		}
		if (i == 3)
			return -EINVAL;
		flags |= PLAN_SCHED_F_FALLBACK << i;
		text += len;
		if (*text == ',')
			text++;
	}
	*ret_flags = flags;
	return 0;
}
