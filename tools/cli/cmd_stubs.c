/* cmd_stubs.c - STUB subcommands until their files exist. */
#include <stdio.h>

#include "cli.h"

int cmd_sample(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sgm sample: not implemented yet\n");
    return 1;
}
int cmd_schedule(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sgm schedule: not implemented yet\n");
    return 1;
}
int cmd_list(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "sgm list: not implemented yet\n");
    return 1;
}
