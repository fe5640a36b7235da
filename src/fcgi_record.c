/* fcgi_record.c: (being written) */
