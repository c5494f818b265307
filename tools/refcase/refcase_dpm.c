/* refcase_dpm.c - STUB: cases of this implementation are not wired yet. */
#include "refcase.h"

int refcase_dpm(refcase *rc) { return rc_fail(rc, "dpm cases are not implemented yet"); }
