/* cache_control.c: (being written) */
