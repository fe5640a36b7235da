/* check_main.h: the shared main() of the Check unit-test programs. */
#ifndef BOCACHE_CHECK_MAIN_H
#define BOCACHE_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* Defines main() running the suite SUITE_FN returns, printing Check's
 * summary line, and failing the program when any check failed. */
#define BC_CHECK_MAIN(suite_fn)                                                \
    int main(void)                                                             \
    {                                                                          \
        SRunner *sr = srunner_create(suite_fn());                              \
        srunner_run_all(sr, CK_NORMAL);                                        \
        int failed = srunner_ntests_failed(sr);                                \
        srunner_free(sr);                                                      \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                      \
    }

#endif
