/* main.c - the `sgm` command: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "sgm.h"

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        printf("usage: sgm <command> [options]\n");
        return argc < 2 ? 2 : 0;
    }
    fprintf(stderr, "sgm: unknown command '%s'\n", argv[1]);
    return 2;
}
