/* null.c: placeholder */
#include "alloc/alloc.h"
const alloc_class_t alloc_null_class = {.name = "null"};
