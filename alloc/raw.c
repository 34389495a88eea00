/* raw.c: placeholder */
#include "alloc/alloc.h"
const alloc_class_t alloc_raw_class = {.name = "raw"};
