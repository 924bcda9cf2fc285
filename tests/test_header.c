/* Compiled as plain C99 with -pedantic -Werror: the public header must need nothing
 * else. Building this file is the test. */
#include "mrxcl.h"

int mrxcl_header_compiles(void);
int mrxcl_header_compiles(void)
{
    mrxcl_context_params p = mrxcl_context_default_params();
    return p.device_index + MRXCL_OK;
}
