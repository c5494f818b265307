/* refcase_diffusers.c - STUB: cases of this implementation are not wired yet. */
#include "refcase.h"

int refcase_diffusers(refcase *rc) { return rc_fail(rc, "diffusers cases are not implemented yet"); }
