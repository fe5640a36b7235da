/* responder.c: (being written) */
