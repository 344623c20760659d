/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs run: not built yet. It says so plainly and fails, rather than pretending to work;
 * see the open issues for the plan.
 */
#include <stdio.h>

#include "cmd.h"

int cmd_run_main(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		printf("Usage: kipvs run [OPTIONS]\n\nKeeps this node's IPVS table in step with the cluster.\n\nNot implemented yet.\n");
		return EXIT_OK;
	}
	fprintf(stderr, "kipvs run: not implemented yet\n");
	return EXIT_RUNTIME;
}
