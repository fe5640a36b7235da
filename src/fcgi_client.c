/* fcgi_client.c: (being written) */
