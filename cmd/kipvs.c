/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs: keeps the kernel's IPVS table in step with a Kubernetes cluster. This file only
 * dispatches to the subcommands; everything they do lives in the libraries the tests link.
 */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cmd.h"

static const struct cmd commands[] = {
	{"run", "keep this node's IPVS table in step with the cluster", cmd_run_main},
	{"plan", "print the IPVS table this node should have, as ipvsadm -Sn lines", cmd_plan_main},
	{"cleanup", "remove everything kipvs created in the kernel", cmd_cleanup_main},
	{"version", "print the version", cmd_version_main},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: kipvs COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'kipvs COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version_main(argc - 1, argv + 1);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "kipvs: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
