/* entry.c: (being written) */
