/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the subcommands' argument handling. */
#include <errno.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

int cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int cmd_options_begin(int argc, char **argv, enum kube_options_cmd cmd, const char *name,
		      void (*usage)(FILE *stream), struct kube_options *o)
{
	char err[512];
	int r;

	if (cmd_wants_help(argc, argv)) {
		usage(stdout);
		return EXIT_OK;
	}
	r = kube_options_parse(o, cmd, argc, argv, err, sizeof(err));
	if (r == -EINVAL) {
		fprintf(stderr, "%s\nTry 'kipvs %s --help'.\n", err, name);
		return EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "kipvs %s: out of memory\n", name);
		return EXIT_RUNTIME;
	}
	log_set_verbosity(o->verbosity);
	return CMD_CONTINUE;
}
