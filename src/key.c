/* key.c: (being written) */
