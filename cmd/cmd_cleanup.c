/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs cleanup: not built yet. It says so plainly and fails, rather than pretending to work;
 * see the open issues for the plan.
 */
#include <stdio.h>

#include "cmd.h"

int cmd_cleanup_main(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		printf("Usage: kipvs cleanup [OPTIONS]\n\nRemoves every IPVS service, address and interface kipvs created, and nothing else.\n\nNot implemented yet.\n");
		return EXIT_OK;
	}
	fprintf(stderr, "kipvs cleanup: not implemented yet\n");
	return EXIT_RUNTIME;
}
