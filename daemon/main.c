/* pidrestored: creates processes with chosen PIDs for unprivileged callers. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "wire.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: pidrestored [OPTIONS]\n"
		"\n"
		"Creates processes with chosen PIDs (clone3 with set_tid) for unprivileged\n"
		"callers, under policy, and hands back a pidfd.\n"
		"\n"
		"  -s, --socket PATH            listen on PATH (default %s);\n"
		"                               ignored when the service manager passes a socket\n"
		"      --holder PATH            the placeholder program (default %s)\n"
		"      --max-message-size BYTES largest request accepted (default 65536)\n"
		"      --log-level LEVEL        err, warning, notice, info (default) or debug\n"
		"  -h, --help                   show this help\n"
		"      --version                show the version\n",
		PIDRESTORE_DEFAULT_SOCKET, HOLDER_PATH);
}

int main(int argc, char **argv)
{
	enum { OPT_HOLDER = 256, OPT_MAX_MESSAGE, OPT_LOG_LEVEL, OPT_VERSION };
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "holder", required_argument, NULL, OPT_HOLDER },
		{ "max-message-size", required_argument, NULL, OPT_MAX_MESSAGE },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	struct server_options opts = {
		.socket_path = PIDRESTORE_DEFAULT_SOCKET,
		.holder_path = HOLDER_PATH,
		.max_message_size = 64 * 1024,
		.log_level = LOG_INFO,
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			opts.socket_path = optarg;
			break;
		case OPT_HOLDER:
			opts.holder_path = optarg;
			break;
		case OPT_MAX_MESSAGE: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg == '\0' || *end || v < 1024 || v > 16 * 1024 * 1024) {
				fprintf(stderr, "pidrestored: --max-message-size must be a number of bytes from 1024 to 16777216, not \"%s\"\n", optarg);
				return 2;
			}
			opts.max_message_size = v;
			break;
		}
		case OPT_LOG_LEVEL:
			opts.log_level = log_level_from_string(optarg);
			if (opts.log_level < 0) {
				fprintf(stderr, "pidrestored: unknown log level \"%s\"; use err, warning, notice, info or debug\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("pidrestored %s (protocol %d)\n", PACKAGE_VERSION, PIDRESTORE_PROTOCOL_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'pidrestored --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pidrestored: unexpected argument \"%s\"; it takes options only (see --help)\n", argv[optind]);
		return 2;
	}
	return server_run(&opts);
}
