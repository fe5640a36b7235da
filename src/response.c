/* response.c: (being written) */
